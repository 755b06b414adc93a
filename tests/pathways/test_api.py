"""Pathways API: enrolments with progress, validations (prerequisites), referrals, scope."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.auth import services as auth_services
from mediation.pathways.models import MilestoneValidation, Referral

SCOPES = ["pathways:read", "pathways:write"]


@pytest.fixture
def token(session):
    def make(user, scopes=SCOPES):
        _, raw = auth_services.create_api_token(session, user, "Parcours", scopes)
        session.commit()  # an API error's rollback keeps the test's data
        return {"Authorization": f"Bearer {raw}"}

    return make


def test_enrol_then_validate_with_prerequisites_enforced(client, session, network, template, person, steps, token):
    case = person()
    session.commit()
    headers = token(network.mediator)
    response = client.post("/api/v1/inscriptions", json={"dossier_id": case.id, "parcours_id": template.id},
                           headers=headers)
    assert response.status_code == 201, response.json
    enrolment = response.json
    assert enrolment["version"] == 1 and enrolment["progression"]["etapes"] == 8
    assert enrolment["progression"]["prochaine_etape_id"] == steps[0].id
    url = f"/api/v1/inscriptions/{enrolment['id']}/validations"
    response = client.post(url, json={"etape_id": steps[1].id, "recit": "Seule."}, headers=headers)
    assert response.status_code == 400
    assert response.json["error"]["message"].startswith("L'étape « Naviguer et chercher sur internet » ne peut pas")
    assert response.json["error"]["errors"] == {"milestone_id": response.json["error"]["message"]}
    response = client.post(url, json={"etape_id": steps[0].id}, headers=headers)
    assert response.status_code == 422 and "recit" in response.json["error"]["errors"]
    response = client.post(url, json={"etape_id": steps[0].id, "recit": "Seule.", "score_pix": 30, "x": 1},
                           headers=headers)
    assert response.status_code == 422 and response.json["error"]["errors"] == {"x": "Champ inconnu"}
    response = client.post(url, json={"etape_id": steps[0].id, "recit": "Seule.", "score_pix": 30}, headers=headers)
    assert response.status_code == 201 and response.json["score_pix"] == 30
    detail = client.get(f"/api/v1/inscriptions/{enrolment['id']}", headers=headers).json
    assert detail["progression"]["etapes_validees"] == 1
    assert detail["progression"]["niveaux_detail"][0]["etapes"][1]["prerequis_manquants"] == []
    listing = client.get(f"/api/v1/inscriptions?dossier={case.id}", headers=headers).json
    assert [e["id"] for e in listing["items"]] == [enrolment["id"]]
    assert [v["etape_id"] for v in client.get(url, headers=headers).json["items"]] == [steps[0].id]


def test_outside_the_consent_scope_the_api_finds_nothing(client, session, network, enrolled, steps, token):
    enrolment = enrolled()
    session.commit()
    headers = token(network.mediator_b)
    assert client.get(f"/api/v1/inscriptions/{enrolment.id}", headers=headers).status_code == 404
    response = client.post(f"/api/v1/inscriptions/{enrolment.id}/validations",
                           json={"etape_id": steps[0].id, "recit": "x"}, headers=headers)
    assert response.status_code == 404
    assert client.get("/api/v1/inscriptions", headers=headers).json["total"] == 0
    assert session.scalar(sa.select(sa.func.count(MilestoneValidation.id))) == 0


def test_referral_through_the_api(client, session, network, person, token):
    case = person(network_consent=True)
    session.commit()
    sender, receiver = token(network.mediator), token(network.mediator_b)
    response = client.post("/api/v1/orientations", json={"dossier_id": case.id,
                                                         "vers_structure_id": network.structure_b.id}, headers=sender)
    assert response.status_code == 201 and response.json["etat"] == "proposee"
    referral_id = response.json["id"]
    received = client.get("/api/v1/orientations?sens=recues", headers=receiver).json
    assert [r["id"] for r in received["items"]] == [referral_id]
    assert client.get("/api/v1/orientations?sens=nulle-part", headers=receiver).status_code == 400
    response = client.post(f"/api/v1/orientations/{referral_id}/reponse", json={"action": "accepter"}, headers=sender)
    assert response.status_code == 403
    response = client.post(f"/api/v1/orientations/{referral_id}/reponse", json={"action": "refuser"}, headers=receiver)
    assert response.status_code == 422 and "motif_refus" in response.json["error"]["errors"]
    response = client.post(f"/api/v1/orientations/{referral_id}/reponse", json={"action": "accepter"},
                           headers=receiver)
    assert response.status_code == 200 and response.json["etat"] == "acceptee"
    assert client.get(f"/api/v1/orientations/{referral_id}", headers=token(network.mediator_far)).status_code == 404


def test_referral_without_network_consent_is_refused(client, session, network, person, token):
    case = person()
    session.commit()
    response = client.post("/api/v1/orientations", json={"dossier_id": case.id,
                                                         "vers_structure_id": network.structure_b.id},
                           headers=token(network.mediator))
    assert response.status_code == 400 and "consenti" in response.json["error"]["message"]
    assert session.scalar(sa.select(sa.func.count(Referral.id))) == 0


def test_read_scope_cannot_write_and_coordinators_cannot_validate(client, session, network, enrolled, steps, token):
    enrolment = enrolled()
    session.commit()
    response = client.post(f"/api/v1/inscriptions/{enrolment.id}/validations",
                           json={"etape_id": steps[0].id, "recit": "x"}, headers=token(network.mediator, ["pathways:read"]))
    assert response.status_code == 403
    coordinator = token(network.coordinator)
    assert client.get(f"/api/v1/inscriptions/{enrolment.id}", headers=coordinator).status_code == 200
    response = client.post(f"/api/v1/inscriptions/{enrolment.id}/validations",
                           json={"etape_id": steps[0].id, "recit": "x"}, headers=coordinator)
    assert response.status_code == 403
