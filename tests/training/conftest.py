from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.training.models import HABILITATION_KIND, TrainingRecord

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def events(session):
    def find(action: str) -> list[AuditEvent]:
        return session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()

    return find


@pytest.fixture
def aidant_habilitation(session, network) -> TrainingRecord:
    """The Aidants Connect record of ``network.aidant`` (made by the network fixture)."""
    return session.scalar(sa.select(TrainingRecord).where(TrainingRecord.user_id == network.aidant.id,
                                                          TrainingRecord.kind == HABILITATION_KIND))
