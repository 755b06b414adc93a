"""Factories for the badges tests: people with a case enrolled in the default pathway, milestone
validations through the pathways service (which issues the badges), workshops; all through the
real services."""

from __future__ import annotations

import pytest

from mediation.badges import services as badge_services
from mediation.cases import activities, policy, services
from mediation.cases.enums import ActivityType, ConsentScope, PlaceType, Thematique
from mediation.pathways import services as pathway_services
from mediation.types import local_today

BASE = "https://mediation.example.org"


@pytest.fixture
def enrolled(session, network, template, make_beneficiary):
    """``enrolled(email=…, phone=…)`` → an enrolment of a new person of structure A."""

    def make(*, mediator=None, structure=None, **fields):
        mediator = mediator or network.mediator
        structure = structure or network.structure_a
        beneficiary = make_beneficiary(mediator, structure, last_name=fields.pop("last_name", "Badge"), **fields)
        services.record_consent(session, mediator, beneficiary, ConsentScope.STRUCTURE, structure.id)
        case = services.live_case(session, beneficiary.id)
        return pathway_services.enrol(session, mediator, case, template)

    return make


@pytest.fixture
def validate(session, network):
    """``validate(enrolment, milestone, activity=None)``: the mediator validates a step (the pathways
    service calls the badges hook)."""

    def do(enrolment, milestone, user=None, structure=None, activity=None):
        return pathway_services.validate_milestone(
            session, user or network.mediator, enrolment,
            pathway_services.ValidationInput(
                milestone_id=milestone.id, structure_id=(structure or network.structure_a).id,
                activity_id=activity.id if activity else None,
                narrative=None if activity else "Réalisé seule devant moi."))

    return do


@pytest.fixture
def workshop(session, network):
    """``workshop(cases, title=…)`` → a collective workshop of structure A with those people."""

    def do(cases, title="Atelier e-mail"):
        data = activities.ActivityInput(
            type=ActivityType.COLLECTIF, structure_id=network.structure_a.id, date=local_today(), duration_min=90,
            place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=network.structure_a.id,
            thematiques=[Thematique.EMAIL.value], workshop_title=title,
            participant_ids=[c.beneficiary_id for c in cases])
        return activities.log_activity(session, network.mediator, data,
                                       visible_beneficiary=policy.beneficiary_loader(session, network.mediator))

    return do


@pytest.fixture
def issued(session, enrolled, steps, validate):
    """``issued(**person)`` → the assertion of the first step for a new person."""

    def do(**fields):
        enrolment = enrolled(**fields)
        validation = validate(enrolment, steps[0])
        found = badge_services.assertions_of(session, enrolment.case.beneficiary_id)
        assert found, "the validation issued no badge"
        assert found[-1].validation_id == validation.id
        return found[-1]

    return do


@pytest.fixture
def attach_email(session):
    """``attach_email(assertion)`` → the badge issued again to the person's e-mail, as the person asks
    from their wallet (the only way a badge carries an e-mail)."""

    def do(assertion):
        wallet = badge_services.wallet_for(session, assertion.beneficiary)
        return badge_services.attach_email(session, wallet, assertion.uid)

    return do
