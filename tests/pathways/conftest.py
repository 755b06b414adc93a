"""Factories for the pathways tests: the default template, people with a case (and, if asked, a
network consent), enrolment, validations and activities, all through the real services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.cases import activities, policy, services
from mediation.cases.enums import ActivityType, ConsentScope, PlaceType, Thematique
from mediation.pathways import services as pathway_services
from mediation.pathways.enums import MilestoneKind
from mediation.types import local_today

MAITRISE = "Maîtrise des outils numériques du quotidien"


@pytest.fixture
def person(session, network, make_beneficiary):
    """``person(network_consent=True, structure=…, mediator=…)`` → the case of a new person."""

    def make(*, network_consent: bool = False, structure=None, mediator=None, **fields):
        structure = structure or network.structure_a
        mediator = mediator or network.mediator
        beneficiary = make_beneficiary(mediator, structure, last_name=fields.pop("last_name", "Parcours"), **fields)
        services.record_consent(session, mediator, beneficiary, ConsentScope.STRUCTURE, structure.id)
        if network_consent:
            services.record_consent(session, mediator, beneficiary, ConsentScope.RESEAU, structure.id)
        return services.live_case(session, beneficiary.id)

    return make


@pytest.fixture
def enrolled(session, network, template, person):
    """``enrolled(**person_kwargs)`` → an enrolment of a new person in the default template."""

    def make(mediator=None, **kwargs):
        case = person(mediator=mediator, **kwargs)
        return pathway_services.enrol(session, mediator or network.mediator, case, template)

    return make


@pytest.fixture
def validate(session, network):
    """``validate(enrolment, milestone, user=…, structure=…, **evidence)`` with a narrative by default."""

    def do(enrolment, milestone, user=None, structure=None, **evidence):
        evidence.setdefault("narrative", "Réalisé seule devant moi.")
        return pathway_services.validate_milestone(
            session, user or network.mediator, enrolment,
            pathway_services.ValidationInput(milestone_id=milestone.id,
                                             structure_id=(structure or network.structure_a).id, **evidence))

    return do


@pytest.fixture
def log_activity(session, network):
    """``log_activity(case, user=…, structure=…)`` → an individual session for the case's person."""

    def do(case, user=None, structure=None, day=None):
        user = user or network.mediator
        structure = structure or network.structure_a
        data = activities.ActivityInput(
            type=ActivityType.INDIVIDUEL, structure_id=structure.id, date=day or local_today() - timedelta(days=0),
            duration_min=45, place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=structure.id,
            thematiques=[Thematique.EMAIL.value], beneficiary_id=case.beneficiary_id)
        return activities.log_activity(session, user, data,
                                       visible_beneficiary=policy.beneficiary_loader(session, user))

    return do


def completion(version, level_position=None):
    """The completion milestone of a level (or of the pathway when no position is given)."""
    for m in version.milestones:
        if level_position is None and m.kind == MilestoneKind.PATHWAY:
            return m
        if m.kind == MilestoneKind.LEVEL and m.level.position == level_position:
            return m
    raise LookupError(level_position)
