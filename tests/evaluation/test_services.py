"""Funders, programmes, explicit attribution and the follow-up survey (mediator by phone, person
from the wallet): rules, French messages, nothing changed on bad input, audit events."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.cases.enums import CaseState
from mediation.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mediation.evaluation import indicators, services
from mediation.evaluation.models import (
    FollowUp,
    FollowUpChannel,
    FollowUpStatus,
    FollowUpTrigger,
    Funder,
    Programme,
)
from mediation.pathways import versions
from mediation.pathways.enums import EnrolmentState
from mediation.pathways.models import Enrolment
from tests.evaluation.conftest import END, START, YEAR, at


def events(session, action):
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == action))


def test_create_funder_rules(session, network):
    with pytest.raises(ValidationFailed) as error:
        services.create_funder(session, network.admin, "  ", "inconnu")
    assert error.value.errors == {"name": "Indiquez le nom du financeur.",
                                  "kind": "Choisissez le type de financeur dans la liste."}
    services.create_funder(session, network.admin, "CAF de Seine-Maritime", "caf")
    with pytest.raises(Conflict):
        services.create_funder(session, network.admin, "caf de seine-maritime", "caf")
    with pytest.raises(Forbidden):
        services.create_funder(session, network.coordinator, "Autre", "caf")
    assert events(session, "funder.created") == 1


def test_programme_rules_and_coordinator_territory(session, network, funder_setup):
    bad = services.ProgrammeInput(funder_id=None, name="", starts_on=date(YEAR, 6, 1), ends_on=date(YEAR, 1, 1))
    with pytest.raises(ValidationFailed) as error:
        services.save_programme(session, network.admin, bad)
    assert error.value.errors["name"] == "Indiquez le nom du programme."
    assert error.value.errors["funder_id"] == "Choisissez le financeur."
    assert error.value.errors["ends_on"] == "La date de fin doit être postérieure ou égale à la date de début."
    before = session.scalar(sa.select(sa.func.count(Programme.id)))
    far = services.ProgrammeInput(funder_id=funder_setup.metro.id, name="Hors territoire", starts_on=START,
                                  ends_on=END, structure_ids=[network.structure_far.id])
    with pytest.raises(ValidationFailed) as error:
        services.save_programme(session, network.coordinator, far)
    assert error.value.errors == {"structure_ids": "Vous ne couvrez que des structures de votre territoire."}
    assert session.scalar(sa.select(sa.func.count(Programme.id))) == before
    ok = services.ProgrammeInput(funder_id=funder_setup.metro.id, name="Ateliers seniors", starts_on=START,
                                 ends_on=END, structure_ids=[network.structure_b.id],
                                 mediator_ids=[network.mediator.id])
    programme = services.save_programme(session, network.coordinator, ok)
    assert programme.territory_id == network.territory.id
    assert [s.id for s in programme.structures] == [network.structure_b.id]
    with pytest.raises(ValidationFailed) as error:
        services.save_programme(session, network.coordinator, ok)
    assert error.value.errors == {"name": "Ce financeur a déjà un programme de ce nom."}
    assert events(session, "programme.created") == 1


def test_explicit_attribution_counts_in_the_programme(session, network, funder_setup, build, scope_for):
    person = build.person()
    inside = build.activity(date(YEAR, 3, 1), [person])
    before = build.activity(date(YEAR - 1, 3, 1), [person])
    far = build.activity(date(YEAR, 3, 2), [build.person(network.structure_far)], structure=network.structure_far,
                         mediator=network.mediator_far)
    build.done()
    p2 = funder_setup.p2  # covers mediator B only: nothing of structure A
    assert indicators.compute_dashboard(scope_for(programme_id=p2.id), threshold=1).figure(
        "moyens.accompagnements").value == 0
    with pytest.raises(ValidationFailed, match="en dehors de la période"):
        services.attribute_activity(session, network.admin, p2, before.id)
    with pytest.raises(ValidationFailed, match="Aucune activité de votre périmètre"):
        services.attribute_activity(session, network.coordinator, p2, far.id)
    services.attribute_activity(session, network.coordinator, p2, inside.id)
    with pytest.raises(Conflict):
        services.attribute_activity(session, network.coordinator, p2, inside.id)
    dashboard = indicators.compute_dashboard(scope_for(programme_id=p2.id), threshold=1)
    assert dashboard.figure("moyens.accompagnements").value == 1
    assert dashboard.section("moyens").source == "rollups"  # the programme's cells, and its activity read live
    services.remove_attribution(session, network.coordinator, p2, inside.id)
    assert indicators.compute_dashboard(scope_for(programme_id=p2.id), threshold=1).figure(
        "moyens.accompagnements").value == 0
    with pytest.raises(NotFound):
        services.remove_attribution(session, network.coordinator, p2, inside.id)
    assert events(session, "programme.activity_attributed") == 1


@pytest.fixture
def closed_and_completed(build, session, network):
    closed_person = build.person()
    closed = build.case(closed_person, state=CaseState.CLOSED, opened=date(YEAR, 3, 1))
    closed.closed_at = at(date(YEAR, 3, 1))
    done_person = build.person()
    done = build.case(done_person)
    template = versions.create_default_template(session, network.coordinator, network.territory.id)
    session.add(Enrolment(case_id=done.id, template_id=template.id, version_id=template.current_version.id,
                          structure_id=network.structure_a.id, enrolled_by_id=network.mediator.id,
                          enrolled_at=at(date(YEAR, 1, 1)), state=EnrolmentState.TERMINE,
                          completed_at=at(date(YEAR, 4, 10))))
    build.case(build.person())  # open, nothing to follow up
    session.flush()
    return closed, done


def test_schedule_follow_ups_once_per_case(session, closed_and_completed):
    closed, done = closed_and_completed
    assert services.schedule_follow_ups(session, delay_days=90) == 2
    assert services.schedule_follow_ups(session, delay_days=90) == 0
    rows = {f.case_id: f for f in session.scalars(sa.select(FollowUp))}
    assert rows[closed.id].due_on == date(YEAR, 5, 30) and rows[closed.id].trigger == FollowUpTrigger.CLOTURE
    assert rows[done.id].due_on == date(YEAR, 7, 9) and rows[done.id].trigger == FollowUpTrigger.PARCOURS_TERMINE
    assert events(session, "follow_up.scheduled") == 1


def test_mediator_records_answers_and_bad_input_changes_nothing(session, network, closed_and_completed):
    services.schedule_follow_ups(session, delay_days=90)
    follow_up = session.scalar(sa.select(FollowUp).where(FollowUp.case_id == closed_and_completed[0].id))
    with pytest.raises(ValidationFailed, match="de 1 à 5"):
        services.record_follow_up(session, network.mediator, follow_up,
                                  services.FollowUpAnswers(online_alone=True, comfort_now=6))
    with pytest.raises(ValidationFailed, match="au moins une réponse"):
        services.record_follow_up(session, network.mediator, follow_up, services.FollowUpAnswers())
    session.refresh(follow_up)
    assert follow_up.status == FollowUpStatus.A_FAIRE and follow_up.online_alone is None
    with pytest.raises(Forbidden):
        services.record_follow_up(session, network.coordinator, follow_up,
                                  services.FollowUpAnswers(online_alone=True))
    services.record_follow_up(session, network.mediator, follow_up, services.FollowUpAnswers(
        online_alone=True, less_isolated=False, comfort_now=4))
    assert (follow_up.status, follow_up.channel, follow_up.comfort_now) == (FollowUpStatus.REPONDU,
                                                                            FollowUpChannel.TELEPHONE, 4)
    with pytest.raises(Conflict):
        services.record_follow_up(session, network.mediator, follow_up, services.FollowUpAnswers(online_alone=True))
    assert events(session, "follow_up.recorded") == 1


def test_wallet_answers_own_due_follow_up_only(session, network, closed_and_completed):
    services.schedule_follow_ups(session, delay_days=90)
    closed, done = closed_and_completed
    person = closed.beneficiary_id
    assert services.pending_follow_ups_for(session, person, today=date(YEAR, 5, 29)) == []
    pending = services.pending_follow_ups_for(session, person, today=date(YEAR, 6, 1))
    assert [f.case_id for f in pending] == [closed.id]
    other = session.scalar(sa.select(FollowUp).where(FollowUp.case_id == done.id))
    with pytest.raises(NotFound):
        services.answer_from_wallet(session, person, other.id, services.FollowUpAnswers(online_alone=True),
                                    today=date(YEAR, 12, 1))
    answered = services.answer_from_wallet(session, person, pending[0].id, services.FollowUpAnswers(
        online_alone=False, job_or_training=True, comfort_now=3), today=date(YEAR, 6, 1))
    assert answered.channel == FollowUpChannel.PORTEFEUILLE and answered.closed_by_id is None
    assert services.pending_follow_ups_for(session, person, today=date(YEAR, 6, 1)) == []


def test_admin_links_a_funder_account(session, network):
    funder = services.create_funder(session, network.admin, "Fondation Solidarité Numérique", "fondation")
    with pytest.raises(ValidationFailed):
        services.link_funder_account(session, network.admin, funder, network.mediator)
    services.link_funder_account(session, network.admin, funder, network.funder)
    assert network.funder.funder_id == funder.id
    assert session.get(Funder, funder.id).name == "Fondation Solidarité Numérique"
    assert datetime.now(UTC).year >= YEAR
