"""Training records: what may be recorded by whom, the certificate checked by its content, the
habilitation derived from the records (an expired one stops mandates), reminders and the report to
the coordination, the skills table and the exports."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mediation.directory.notifications import (
    CoordinationNotification,
    NotificationKind,
    unread_for_coordination,
)
from mediation.errors import Forbidden, ValidationFailed
from mediation.mandates import policy as mandates_policy
from mediation.training import exports, habilitation, services
from mediation.training.demo import certificate_pdf
from mediation.training.models import TrainingKind, TrainingRecord
from mediation.types import local_today
from tests.training.conftest import PNG


def count(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(TrainingRecord))


def test_a_coordinator_records_a_training_with_its_certificate(session, network, events):
    pdf = certificate_pdf("CCP REMN", "Test")
    entry = services.record_training(session, network.coordinator, network.mediator, kind="ccp_remn",
                                     obtained_on=date(2025, 6, 30), organisation=" Afpa ", certificate=pdf)
    assert entry.certificate_type == "application/pdf" and entry.organisation == "Afpa"
    assert entry.expires_on is None and entry.name.startswith("CCP « Responsable d’espace")
    assert events("training.recorded")[-1].details["kind"] == "ccp_remn"


def test_the_certificate_is_recognised_by_its_content_not_its_name(session, network):
    before = count(session)
    with pytest.raises(ValidationFailed) as caught:
        services.record_training(session, network.coordinator, network.mediator, kind="pix",
                                 obtained_on=date(2025, 1, 2), certificate=b"MZ\x90\x00 not a pdf at all")
    assert caught.value.field == "certificate" and "ni un PDF, ni une image JPEG ou PNG" in caught.value.message
    with pytest.raises(ValidationFailed, match="dépasse 5 Mo"):
        services.record_training(session, network.coordinator, network.mediator, kind="pix",
                                 obtained_on=date(2025, 1, 2), certificate=b"%PDF-" + b"0" * (5 * 1024 * 1024))
    assert count(session) == before
    entry = services.record_training(session, network.coordinator, network.mediator, kind="pix",
                                     obtained_on=date(2025, 1, 2), certificate=PNG)
    assert entry.certificate_type == "image/png"


@pytest.mark.parametrize(("values", "field", "message"), [
    ({"kind": "autre"}, "title", "intitulé"),
    ({"kind": "inconnue"}, "kind", "Choisissez une formation"),
    ({"kind": "pix", "obtained_on": None}, "obtained_on", "date d’obtention"),
    # a week ahead: still in the future if the run crosses midnight after this list was built
    ({"kind": "pix", "obtained_on": local_today() + timedelta(days=7)}, "obtained_on", "futur"),
    ({"kind": "pix", "expires_on": date(2024, 1, 1)}, "expires_on", "doit suivre"),
])
def test_bad_input_is_refused_in_french_and_nothing_is_recorded(session, network, values, field, message):
    before = count(session)
    arguments = {"obtained_on": date(2025, 3, 1), **values}
    with pytest.raises(ValidationFailed) as caught:
        services.record_training(session, network.coordinator, network.mediator, **arguments)
    assert message in (caught.value.errors.get(field) or caught.value.message)
    assert count(session) == before


def test_staff_record_their_own_trainings_but_not_their_habilitation(session, network):
    services.record_training(session, network.mediator, network.mediator, kind="autre", title="Santé en ligne",
                             obtained_on=date(2025, 3, 1))
    with pytest.raises(Forbidden, match="Seule la coordination"):
        services.record_training(session, network.aidant, network.aidant, kind="aidants_connect",
                                 obtained_on=date(2025, 3, 1))
    with pytest.raises(Forbidden):
        services.record_training(session, network.mediator, network.aidant, kind="pix", obtained_on=date(2025, 3, 1))


def test_the_habilitation_expires_three_years_after_the_training_unless_told(session, network):
    entry = services.record_training(session, network.coordinator, network.mediator_b, kind="aidants_connect",
                                     obtained_on=date(2024, 2, 29))
    assert entry.expires_on == date(2027, 2, 28)


def test_an_expired_habilitation_stops_mandates_with_a_french_message(session, network, aidant_habilitation):
    aidant = network.aidant
    assert mandates_policy.is_habilitated(aidant)
    aidant_habilitation.expires_on = local_today() - timedelta(days=1)
    session.flush()
    problem = mandates_policy.habilitation_problem(aidant)
    assert problem.startswith("Votre habilitation Aidants Connect a expiré le ")
    assert "ne pouvez plus créer ni utiliser de mandats" in problem
    assert mandates_policy.acting_structures(session, aidant) == []
    # A renewal recorded by the coordination habilitates again: one source of truth, the records.
    services.record_training(session, network.coordinator, aidant, kind="aidants_connect",
                             obtained_on=local_today() - timedelta(days=2))
    assert mandates_policy.is_habilitated(aidant)


def test_without_a_record_a_designated_aidant_is_not_habilitated(session, network, aidant_habilitation):
    services.delete_training(session, network.coordinator, aidant_habilitation)
    assert "aucune formation Aidants Connect" in mandates_policy.habilitation_problem(network.aidant)
    assert habilitation.current_habilitation(network.aidant) is None


def test_reminders_before_expiry_then_the_coordination_is_told_once(session, network, outbox, events,
                                                                     aidant_habilitation):
    today = local_today()
    soon = services.record_training(session, network.coordinator, network.mediator, kind="pix",
                                    obtained_on=today - timedelta(days=900), expires_on=today + timedelta(days=20))
    services.record_training(session, network.coordinator, network.mediator, kind="psc1",
                             obtained_on=today - timedelta(days=900), expires_on=today + timedelta(days=200))
    aidant_habilitation.expires_on = today - timedelta(days=3)
    session.flush()

    result = services.send_reminders(session, today=today)
    assert result == {"rappels": 1, "habilitations_expirees": 1}
    reminder = next(m for m in outbox if m["To"] == network.mediator.email)
    assert "Certification Pix" in reminder["Subject"] and soon.reminded_at is not None
    to_coordination = next(m for m in outbox if m["To"] == network.coordinator.email)
    assert "habilitation" in to_coordination["Subject"]
    notices = unread_for_coordination(session, network.coordinator)
    assert [n.kind for n in notices] == [NotificationKind.HABILITATION_EXPIREE]
    assert network.aidant.full_name in notices[0].message
    assert unread_for_coordination(session, network.other_coordinator) == []
    assert events("training.habilitation_expired")[-1].details["coordinators"] == 1

    outbox.clear()
    assert services.send_reminders(session, today=today) == {"rappels": 0, "habilitations_expirees": 0}
    assert outbox == []
    assert session.scalar(sa.select(sa.func.count()).select_from(CoordinationNotification)) == 1


def test_the_skills_table_shows_gaps_per_commune_and_service(session, network, make_user):
    today = local_today()
    network.structure_a.services = ["Aide aux démarches administratives"]
    network.structure_b.services = ["Loisirs et créations numériques"]
    services.record_training(session, network.coordinator, network.mediator, kind="ccp_remn",
                             obtained_on=today - timedelta(days=100))
    services.record_training(session, network.coordinator, network.mediator_b, kind="pix",
                             obtained_on=today - timedelta(days=800), expires_on=today - timedelta(days=1))
    table = services.skills(session, network.coordinator)
    rows = {row.label: row for row in table.communes}
    assert set(rows) == {"Ville-A", "Ville-B"}  # the far territory is out of scope
    assert rows["Ville-A"].staff == 2 and rows["Ville-A"].count(TrainingKind.CCP_REMN) == 1
    assert rows["Ville-A"].count(TrainingKind.AIDANTS_CONNECT) == 1
    assert rows["Ville-B"].count(TrainingKind.PIX) == 0  # expired: a gap
    assert table.communes_without(TrainingKind.AIDANTS_CONNECT) == ["Ville-B"]
    only = services.skills(session, network.coordinator, service="Loisirs et créations numériques")
    assert [row.label for row in only.structures] == ["Médiathèque B"]
    with pytest.raises(ValidationFailed):
        services.skills(session, network.coordinator, service="Inconnu")
    with pytest.raises(Forbidden):
        services.skills(session, network.mediator)


def _csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def test_exports_stay_in_scope_and_neutralise_formulas(session, network):
    services.record_training(session, network.coordinator, network.mediator, kind="autre", title="=HYPERLINK(1)",
                             obtained_on=date(2025, 5, 2))
    services.record_training(session, network.admin, network.mediator_far, kind="pix", obtained_on=date(2025, 5, 2))
    rows = _csv(exports.records_csv(session, network.coordinator))
    assert rows[0][:3] == ["Nom", "Prénom", "Rôle"]
    names = {row[0] for row in rows[1:]}
    assert network.mediator_far.last_name not in names and network.mediator.last_name in names
    assert any(row[5] == "'=HYPERLINK(1)" for row in rows[1:])
    assert any(row[7] == "02/05/2025" for row in rows[1:])
    assert len(_csv(exports.records_csv(session, network.admin))) == len(rows) + 1
    with pytest.raises(Forbidden):
        exports.records_csv(session, network.mediator)
    skills = _csv(exports.skills_csv(services.skills(session, network.coordinator)))
    assert skills[0][0] == "Commune" and {row[1] for row in skills[1:]} >= {"France Services A", "Médiathèque B"}


def test_the_reminders_run_as_a_job_of_the_one_jobs_mechanism(app, session, network, outbox, aidant_habilitation):
    from mediation.jobs import enqueue
    from mediation.jobs.models import JobStatus

    aidant_habilitation.expires_on = local_today() + timedelta(days=10)
    session.flush()
    app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    try:
        job = enqueue(session, "training.reminders")
    finally:
        app.config["MEDIATION_JOBS_BACKEND"] = None
    assert job.status == JobStatus.DONE and job.result == {"rappels": 1, "habilitations_expirees": 0}
    assert [m["To"] for m in outbox] == [network.aidant.email]
    assert "vous ne pourrez plus créer ni utiliser de mandats" in outbox[0].get_content()
