"""Append-only audit log, hash-chained. Rows are never updated or deleted (database triggers)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.types import UTCDateTime, utcnow


class AuditEvent(db.Model):
    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
        sa.Index("ix_audit_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(40))
    object_id: Mapped[str | None] = mapped_column(sa.String(40))
    structure_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    details: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # The chain, written once when the transaction commits (audit.services.seal): position, previous
    # event's hash, own hash. NULL only inside the transaction that recorded the event.
    seq: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))

    actor = relationship("User")


class AuditAnchor(db.Model):
    """The chain's head (last sequence number and hash), rewritten by every seal in the same commit
    and authenticated with an HMAC whose key the database does not hold (MEDIATION_AUDIT_ANCHOR_KEY):
    deleting the newest events leaves an anchor that points past the end of the chain, and someone
    with database rights alone cannot write a new valid anchor. One row (id = 1)."""

    __tablename__ = "audit_anchor"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    hash: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    mac: Mapped[str] = mapped_column(sa.String(64))
