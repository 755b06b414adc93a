"""Factories for the cases tests: activities logged through the real services (beneficiaries:
``make_beneficiary`` in tests/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.cases import activities, policy
from mediation.cases.activities import ActivityInput, AnonymousCounters
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.types import local_today


@pytest.fixture
def activity_input(network):
    """A valid ActivityInput for ``network.mediator`` acting for structure A, with overrides."""

    def build(type=ActivityType.INDIVIDUEL, **overrides) -> ActivityInput:
        values = dict(
            type=type, structure_id=network.structure_a.id, date=local_today() - timedelta(days=1),
            duration_min=45, place_type=PlaceType.LIEU_ACTIVITE.value,
            place_structure_id=network.structure_a.id, thematiques=[Thematique.EMAIL.value],
        )
        if type == ActivityType.COLLECTIF and "counters" not in overrides and "participant_ids" not in overrides:
            values["counters"] = AnonymousCounters(total=3)
        values.update(overrides)
        return ActivityInput(**values)

    return build


@pytest.fixture
def log(session, network):
    def do(data: ActivityInput, user=None):
        user = user or network.mediator
        return activities.log_activity(session, user, data,
                                       visible_beneficiary=policy.beneficiary_loader(session, user))

    return do


@pytest.fixture
def edit(session, network):
    def do(activity, data: ActivityInput, user=None):
        user = user or network.mediator
        return activities.update_activity(session, user, activity, data,
                                          visible_beneficiary=policy.beneficiary_loader(session, user))

    return do
