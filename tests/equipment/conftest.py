"""Factories for the equipment tests: devices added and handovers made through the real services."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mediation.cases import activities
from mediation.cases import policy as cases_policy
from mediation.cases.activities import ActivityInput
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.equipment import services
from mediation.types import local_today


@pytest.fixture
def make_device(session, network):
    counter = iter(range(1, 100_000))

    def make(actor=None, structure=None, **fields):
        values = dict(structure_id=(structure or network.structure_a).id, kind="ordinateur_portable",
                      model="Lenovo ThinkPad T480", asset_number=f"INV-{next(counter):04d}", condition="bon",
                      origin="reconditionneur", origin_name="Ordi 3.0")
        values.update(fields)
        return services.add_device(session, actor or network.mediator, services.DeviceInput(**values))

    return make


@pytest.fixture
def make_session_activity(session, network):
    """An individual session of ``network.mediator`` with ``person`` (equipment lent, by default)."""

    def make(person, kind="pret", day=None):
        data = ActivityInput(type=ActivityType.INDIVIDUEL, structure_id=network.structure_a.id,
                             date=day or local_today(), duration_min=60, place_type=PlaceType.LIEU_ACTIVITE.value,
                             place_structure_id=network.structure_a.id,
                             thematiques=[Thematique.PRENDRE_EN_MAIN_DU_MATERIEL.value],
                             equipment_kind=kind, equipment_count=1 if kind else None, beneficiary_id=person.id)
        return activities.log_activity(session, network.mediator, data,
                                       visible_beneficiary=cases_policy.beneficiary_loader(session, network.mediator))

    return make


@pytest.fixture
def lend(session, network):
    def make(device, person, *, actor=None, kind="pret", days=14, activity=None, **fields):
        actor = actor or network.mediator
        values = dict(device_id=device.id, beneficiary_id=person.id, kind=kind,
                      due_on=local_today() + timedelta(days=days) if kind == "pret" else None,
                      conditions_accepted=True, activity_id=activity.id if activity else None)
        values.update(fields)
        data = services.HandoverInput(**values)
        return services.hand_over(session, actor, data,
                                  visible_beneficiary=cases_policy.beneficiary_loader(session, actor),
                                  visible_activity=lambda i: cases_policy.get_activity(session, actor, int(i)))

    return make
