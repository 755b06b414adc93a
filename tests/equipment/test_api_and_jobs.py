"""The equipment API (in scope, no names, the database's single-holder rule as a 409), the reminder
job through the one jobs mechanism, and the daily command."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.auth import services as auth_services
from mediation.jobs import enqueue
from mediation.jobs.models import JobStatus
from mediation.types import local_today


@pytest.fixture
def token(session):
    def make(user, scopes=("equipment:read", "equipment:write")):
        _, raw = auth_services.create_api_token(session, user, "Matériel", list(scopes))
        return {"Authorization": f"Bearer {raw}"}

    return make


def test_lend_list_and_return_through_the_api(client, session, network, token, make_device, make_beneficiary):
    headers = token(network.mediator)
    device = make_device()
    person = make_beneficiary(first_name="Api", last_name="Emprunteuse")
    body = {"appareil_id": device.id, "beneficiaire_id": person.id, "type": "pret",
            "retour_prevu_le": (local_today() + timedelta(days=5)).isoformat(), "conditions_acceptees": True}
    created = client.post("/api/v1/materiel/remises", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["beneficiaire_id"] == person.id and "Emprunteuse" not in created.get_data(as_text=True)
    again = client.post("/api/v1/materiel/remises", json={**body, "beneficiaire_id": make_beneficiary().id},
                        headers=headers)
    assert again.status_code == 422 and "n’est pas disponible" in again.json["error"]["message"]
    listed = client.get("/api/v1/materiel?situation=prete", headers=headers).json
    assert [d["id"] for d in listed["items"]] == [device.id]
    returned = client.post(f"/api/v1/materiel/remises/{created.json['id']}/retour", json={"etat": "endommage"},
                           headers=headers)
    assert returned.status_code == 200 and returned.json["etat_au_retour"] == "endommage"
    assert client.get(f"/api/v1/materiel/{device.id}", headers=headers).json["etat"] == "endommage"
    closed = client.post(f"/api/v1/materiel/remises/{created.json['id']}/retour", json={"etat": "bon"},
                         headers=headers)
    assert closed.status_code == 409


def test_a_coordinator_reads_the_overdue_loans_of_the_territory(client, session, network, token, make_device,
                                                               make_beneficiary, lend):
    late = lend(make_device(), make_beneficiary(), started_on=local_today() - timedelta(days=20),
                due_on=local_today() - timedelta(days=1))
    lend(make_device(), make_beneficiary(), days=10)
    items = client.get("/api/v1/materiel/remises?en_retard=1", headers=token(network.coordinator,
                                                                             ("equipment:read",))).json["items"]
    assert [(i["id"], i["en_retard"]) for i in items] == [(late.id, True)]


def test_the_reminder_job_and_the_daily_command(app, session, network, outbox, monkeypatch, make_device,
                                                make_beneficiary, lend):
    lend(make_device(), make_beneficiary(), days=1)
    monkeypatch.setitem(app.config, "MEDIATION_JOBS_BACKEND", "eager")
    job = enqueue(session, "equipment.reminders", user=network.mediator)
    assert job.status == JobStatus.DONE
    assert job.result["Rappels avant la date de retour"] == 1
    assert [m["To"] for m in outbox] == [network.mediator.email]
    result = app.test_cli_runner().invoke(args=["equipment", "relances"])
    assert result.exit_code == 0 and "0 rappel(s) avant la date de retour" in result.output
