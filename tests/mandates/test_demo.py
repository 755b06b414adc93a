"""The demo shows mandates in every state for the demo aidant's structure."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.directory.notifications import MANDATE_KINDS
from mediation.mandates.demo import load_mandates_demo
from mediation.mandates.enums import MandateStatus
from mediation.mandates.models import Mandate, MandateNotification, MandateUse, RevocationRequest


def test_demo_mandates_cover_every_state(session, network, outbox):
    load_mandates_demo(session, territory=network.territory,
                       structures=[network.structure_a, network.structure_b, network.structure_far],
                       users=[network.mediator, network.aidant], aidant_email=network.aidant.email)
    mandates = session.scalars(sa.select(Mandate)).all()
    assert {m.structure_id for m in mandates} == {network.structure_a.id}
    assert {m.status() for m in mandates} == set(MandateStatus) - {MandateStatus.ANONYMISE}
    assert session.scalar(sa.select(sa.func.count()).select_from(MandateUse)) >= 5
    assert session.scalar(sa.select(sa.func.count()).select_from(RevocationRequest)) == 1
    kinds = set(session.scalars(sa.select(MandateNotification.kind).where(
        MandateNotification.user_id == network.aidant.id)))
    assert kinds == MANDATE_KINDS  # every kind of an aidant's notice
    assert [m["To"] for m in outbox] == [network.aidant.email]
    assert any(m.signed_scan_type for m in mandates)
    assert network.structure_far.allowed_mandate_scopes is not None
