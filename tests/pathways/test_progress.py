"""Enrolment, validation with evidence, prerequisites, completion, next step, diagnosis, and who
may validate across structures (consent)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.cases import services as case_services
from mediation.cases.enums import ConsentScope
from mediation.errors import Conflict, DomainError, NotFound, ValidationFailed
from mediation.pathways import policy
from mediation.pathways import services as pathway_services
from mediation.pathways.enums import EnrolmentState
from mediation.pathways.models import MilestoneValidation

GRID = {"appareils": "entierement_accompagne", "internet": "entierement_accompagne",
        "communication": "partiellement_autonome", "demarches": "entierement_accompagne",
        "securite": "entierement_accompagne"}


def test_enrolment_is_once_per_pathway_and_audited_on_the_case(session, network, template, person):
    case = person()
    enrolment = pathway_services.enrol(session, network.mediator, case, template)
    assert enrolment.version_id == template.current_version.id and enrolment.structure_id == network.structure_a.id
    with pytest.raises(Conflict, match="suit déjà ce parcours"):
        pathway_services.enrol(session, network.mediator, case, template)
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "case.pathway_enrolled"))
    assert event.object_type == "cases" and event.object_id == str(case.id)


def test_prerequisites_are_enforced_with_a_french_message(session, network, enrolled, validate, steps):
    enrolment = enrolled()
    with pytest.raises(DomainError) as error:
        validate(enrolment, steps[1])  # needs « Prendre en main un ordinateur ou un smartphone »
    assert error.value.message == ("L'étape « Naviguer et chercher sur internet » ne peut pas encore être validée : "
                                   "il faut d'abord valider « Prendre en main un ordinateur ou un smartphone ».")
    with pytest.raises(DomainError, match="il faut d'abord valider « Niveau 1 atteint : Premiers pas »"):
        validate(enrolment, steps[2])
    assert session.scalar(sa.select(sa.func.count(MilestoneValidation.id))) == 0


def test_evidence_is_required_and_must_be_the_persons(session, network, enrolled, person, log_activity, validate,
                                                      steps):
    enrolment = enrolled()
    someone_else = person(last_name="Autre")
    theirs = log_activity(someone_else)
    with pytest.raises(ValidationFailed) as error:
        validate(enrolment, steps[0], narrative="", activity_id=theirs.id, pix_score=2000)
    assert error.value.errors == {"activity_id": "Cette activité n'est pas une activité de la personne",
                                  "pix_score": "Le score Pix va de 0 à 1 024 pix"}
    with pytest.raises(ValidationFailed, match="Indiquez l'activité"):
        validate(enrolment, steps[0], narrative="  ")
    own = log_activity(enrolment.case)
    validation = validate(enrolment, steps[0], narrative=None, activity_id=own.id, pix_score=24)
    assert validation.activity_id == own.id and validation.pix_score == 24
    with pytest.raises(Conflict, match="déjà validée"):
        validate(enrolment, steps[0])


def test_levels_and_the_pathway_complete_themselves_and_the_next_step_moves(session, network, enrolled, validate,
                                                                           steps):
    enrolment = enrolled()
    progress = pathway_services.compute_progress(session, enrolment)
    assert progress.next_step.milestone.id == steps[0].id and progress.done_steps == 0
    assert [s.milestone.id for s in progress.blocked][:1] == [steps[1].id]
    validate(enrolment, steps[0])
    validate(enrolment, steps[1])
    progress = pathway_services.compute_progress(session, enrolment)
    assert progress.levels[0].done and progress.levels_done == 1
    assert progress.levels[0].completion.validation.automatic
    assert progress.next_step.milestone.id == steps[2].id
    for step in steps[2:]:
        validate(enrolment, step)
    progress = pathway_services.compute_progress(session, enrolment)
    assert progress.completed and progress.percent == 100 and progress.next_step is None
    assert enrolment.state == EnrolmentState.TERMINE and enrolment.completed_at is not None
    # 8 steps + 4 levels + the pathway
    assert session.scalar(sa.select(sa.func.count(MilestoneValidation.id))
                          .where(MilestoneValidation.enrolment_id == enrolment.id)) == 13
    with pytest.raises(DomainError, match="n'est plus en cours"):
        validate(enrolment, steps[0])
    actions = set(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(enrolment.case_id))))
    assert {"case.milestone_validated", "case.level_reached", "case.pathway_completed"} <= actions


def test_a_structure_consent_keeps_the_case_at_home(session, network, enrolled, validate, steps):
    enrolment = enrolled()  # consent « structure » only
    assert policy.get_case(session, network.mediator_b, enrolment.case_id) is None
    with pytest.raises(NotFound):
        validate(enrolment, steps[0], user=network.mediator_b, structure=network.structure_b)
    assert session.scalar(sa.select(sa.func.count(MilestoneValidation.id))) == 0


def test_a_network_consent_lets_any_structure_of_the_territory_validate(session, network, enrolled, validate, steps):
    enrolment = enrolled(network_consent=True)
    validate(enrolment, steps[0])  # at France Services A
    validation = validate(enrolment, steps[1], user=network.mediator_b, structure=network.structure_b)
    assert validation.structure_id == network.structure_b.id
    # but not another territory, and not once the consent is withdrawn
    assert policy.get_case(session, network.mediator_far, enrolment.case_id) is None
    consent = next(c for c in enrolment.case.beneficiary.consents if c.scope == ConsentScope.RESEAU)
    case_services.withdraw_consent(session, network.mediator, consent)
    assert policy.get_case(session, network.mediator_b, enrolment.case_id) is None
    with pytest.raises(NotFound):
        validate(enrolment, steps[2], user=network.mediator_b, structure=network.structure_b)


def test_the_validator_acts_for_one_of_their_structures(session, network, enrolled, validate, steps):
    enrolment = enrolled(network_consent=True)
    with pytest.raises(ValidationFailed, match="Veuillez choisir la structure"):
        validate(enrolment, steps[0], user=network.mediator_b, structure=network.structure_a)


def test_coordinators_and_funders_do_not_validate(session, network, enrolled, validate, steps):
    enrolment = enrolled()
    for user in (network.coordinator, network.admin, network.funder):
        with pytest.raises(NotFound):
            validate(enrolment, steps[0], user=user)


def test_diagnosis_grid_first_versus_latest(session, network, enrolled, person):
    enrolment = enrolled()
    case = enrolment.case
    with pytest.raises(ValidationFailed) as error:
        pathway_services.record_assessment(session, network.mediator, case, pathway_services.AssessmentInput(
            equipment=["fusee"], needs=["astrologie"], accessibility=["Surdité"]))
    assert error.value.errors["comfort"] == "Veuillez indiquer l'aisance ressentie par la personne (de 1 à 5)"
    assert error.value.errors["autonomy_appareils"].startswith("Veuillez indiquer le niveau d'autonomie")
    assert error.value.errors["equipment"] == "Équipement inconnu"
    assert error.value.errors["needs"] == "Besoin inconnu (thématiques nationales)"
    first = pathway_services.record_assessment(session, network.mediator, case, pathway_services.AssessmentInput(
        equipment=["smartphone"], autonomy=GRID, comfort=2, needs=["email"], language="arabe",
        language_support=True, accessibility=["Déficience visuelle"]))
    assert first.moment.value == "initial" and first.enrolment_id == enrolment.id
    better = dict(GRID, appareils="autonome", communication="autonome")
    latest = pathway_services.record_assessment(session, network.mediator, case, pathway_services.AssessmentInput(
        equipment=["smartphone", "ordinateur"], autonomy=better, comfort=4, needs=["email"]))
    assert latest.moment.value == "etape"
    comparison = pathway_services.compare(pathway_services.assessments_of(session, case))
    deltas = {d.domain.value: d.delta for d in comparison.domains}
    assert deltas == {"appareils": 2, "internet": 0, "communication": 1, "demarches": 0, "securite": 0}
    assert comparison.comfort_delta == 2 and comparison.equipment_gained == ["Ordinateur"]
    assert comparison.domains_improved == 2


def test_a_closed_case_takes_no_validation(session, network, enrolled, validate, steps):
    enrolment = enrolled()
    case_services.close_case(session, network.mediator, enrolment.case, "autre")
    with pytest.raises(DomainError, match="Ce dossier est clos"):
        validate(enrolment, steps[0])



def test_an_abandoned_pathway_keeps_its_progress_and_allows_a_new_enrolment(session, network, template, enrolled,
                                                                            validate, steps):
    enrolment = enrolled()
    validate(enrolment, steps[0])
    pathway_services.abandon(session, network.mediator, enrolment)
    assert enrolment.state == EnrolmentState.ABANDONNE
    assert pathway_services.compute_progress(session, enrolment).done_steps == 1
    with pytest.raises(DomainError, match="n'est plus en cours"):
        validate(enrolment, steps[1])
    again = pathway_services.enrol(session, network.mediator, enrolment.case, template)
    assert again.id != enrolment.id
