"""The demo shows devices in every condition and situation, and loans overdue."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.equipment import services
from mediation.equipment.demo import load_equipment_demo
from mediation.equipment.enums import DeviceCondition, DeviceStatus
from mediation.equipment.models import Device, Handover


def test_demo_devices_cover_every_state_with_overdue_loans(session, network, outbox):
    load_equipment_demo(session, structures=[network.structure_a, network.structure_b],
                        users=[network.mediator, network.coordinator], mediator_email=network.mediator.email)
    devices = session.scalars(sa.select(Device)).all()
    assert {d.status for d in devices} == set(DeviceStatus)
    assert {d.condition for d in devices} == set(DeviceCondition)
    overdue = session.scalars(services.overdue_loans(sa.select(Handover))).all()
    assert len(overdue) == 2
    assert any(d.structure_id == network.structure_b.id for d in devices)  # transferred
    assert services.send_reminders(session) == {"avant_echeance": 1, "en_retard": 2}
