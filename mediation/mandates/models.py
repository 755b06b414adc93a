"""Mandates in the style of Aidants Connect (see docs/domain/mandates.md).

A :class:`Mandate` binds a *structure* (the mandataire, not an individual aidant) to one
beneficiary (the mandant) for a fixed duration; it carries one :class:`Authorization` per démarche.
Every use of an authorization is a :class:`MandateUse` row (and an audit event). The beneficiary's
requests to revoke are :class:`RevocationRequest` rows, tracked until the structure acts on them.

Invariant enforced by the database, on SQLite and PostgreSQL alike: at most one *open*
authorization per (structure, beneficiary, démarche) — a partial unique index on rows whose
``closed_at`` is null. An authorization is closed when it is revoked (``revoked_at``, which implies
``closed_at``) or, lazily, once it has expired (check constraints forbid closing a still-valid
authorization without revoking it). A live authorization (open and not expired) is therefore
unique too; services close expired ones in the same transaction before inserting a new one.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.directory.notifications import NotificationKind
from mediation.extensions import db
from mediation.mandates.enums import (
    AuthorizationStatus,
    Demarche,
    IdentityCheck,
    MandateDuration,
    MandateStatus,
    RevocationChannel,
    RevocationReason,
    RevocationRequestStatus,
)
from mediation.types import UTCDateTime, enum_column, utcnow

__all__ = ["Authorization", "Mandate", "MandateNotification", "MandateUse", "RevocationRequest"]

SCAN_TYPES = ("application/pdf", "image/jpeg", "image/png")


def _fk(target: str, *, nullable: bool = False, index: bool = True):
    return mapped_column(sa.ForeignKey(target, ondelete="RESTRICT"), index=index, nullable=nullable)


class Mandate(db.Model):
    __tablename__ = "mandates"
    __table_args__ = (
        sa.CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        sa.CheckConstraint(
            "anonymised_at IS NOT NULL OR (beneficiary_id IS NOT NULL AND attestation_pdf IS NOT NULL)",
            name="identified_until_anonymised",
        ),
        sa.CheckConstraint("(signed_scan IS NULL) = (signed_scan_type IS NULL)", name="scan_has_type"),
        sa.CheckConstraint(
            "signed_scan_type IS NULL OR signed_scan_type IN ('application/pdf', 'image/jpeg', 'image/png')",
            name="scan_type_allowed",
        ),
        sa.Index("ix_mandates_structure_expires", "structure_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Opaque, unguessable: the only thing the public verification page (QR code) knows.
    public_token: Mapped[str] = mapped_column(sa.String(43), unique=True)
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # see ix_mandates_structure_expires
    beneficiary_id: Mapped[int | None] = _fk("beneficiaries.id", nullable=True)
    created_by_id: Mapped[int] = _fk("users.id")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration: Mapped[MandateDuration] = mapped_column(enum_column(MandateDuration, 16))
    identity_check: Mapped[IdentityCheck] = mapped_column(enum_column(IdentityCheck))
    template_version: Mapped[str] = mapped_column(sa.String(40))
    # The final attestation as rendered once at creation (frozen copy) and its SHA-256.
    attestation_sha256: Mapped[str] = mapped_column(sa.String(64))
    attestation_pdf: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    signed_scan: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    signed_scan_type: Mapped[str | None] = mapped_column(sa.String(40))
    signed_scan_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    signed_scan_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    renewed_from_id: Mapped[int | None] = _fk("mandates.id", nullable=True)
    # Every authorization closed by revocation or replacement before the expiry date.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expiry_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    structure = relationship("Structure")
    beneficiary = relationship("Beneficiary")
    created_by = relationship("User")
    renewed_from = relationship("Mandate", remote_side=[id])
    authorizations: Mapped[list[Authorization]] = relationship(
        back_populates="mandate", order_by="Authorization.id"
    )

    @property
    def reference(self) -> str:
        """A short reference printed on the attestation and shown on the verification page."""
        return f"M-{self.public_token[:4]}-{self.public_token[4:8]}".upper()

    @property
    def demarches(self) -> list[Demarche]:
        return [a.demarche for a in self.authorizations]

    @property
    def ended_at(self) -> datetime:
        """When the mandate stopped producing effects: expiry, or the last revocation before it."""
        if self.closed_at is not None and self.closed_at < self.expires_at:
            return self.closed_at
        return self.expires_at

    def is_expired(self, now: datetime | None = None) -> bool:
        return self.expires_at <= (now or utcnow())

    def live_authorizations(self, now: datetime | None = None) -> list[Authorization]:
        now = now or utcnow()
        return [a for a in self.authorizations if a.is_live(now)]

    def status(self, now: datetime | None = None) -> MandateStatus:
        now = now or utcnow()
        if self.anonymised_at is not None:
            return MandateStatus.ANONYMISE
        live = self.live_authorizations(now)
        if live:
            if len(live) < len(self.authorizations):
                return MandateStatus.PARTIELLEMENT_REVOQUE
            return MandateStatus.EN_VIGUEUR
        revoked = [a for a in self.authorizations if a.revoked_at is not None and a.revoked_at < self.expires_at]
        if len(revoked) < len(self.authorizations):
            return MandateStatus.EXPIRE
        if all(a.revocation_reason == RevocationReason.REMPLACEE for a in revoked):
            return MandateStatus.REMPLACE
        return MandateStatus.REVOQUE

    def __str__(self) -> str:
        return f"Mandat {self.reference}"


class Authorization(db.Model):
    """One démarche of a mandate. Dates are copied from the mandate; ``structure_id`` and
    ``beneficiary_id`` too, so that the database can enforce the single open authorization."""

    __tablename__ = "mandate_authorizations"
    __table_args__ = (
        sa.UniqueConstraint("mandate_id", "demarche", name="uq_mandate_authorizations_mandate_demarche"),
        sa.Index(
            "uq_mandate_authorizations_open", "structure_id", "beneficiary_id", "demarche", unique=True,
            sqlite_where=sa.text("closed_at IS NULL"), postgresql_where=sa.text("closed_at IS NULL"),
        ),
        sa.CheckConstraint("revoked_at IS NULL OR closed_at IS NOT NULL", name="revoked_is_closed"),
        sa.CheckConstraint("(revoked_at IS NULL) = (revocation_reason IS NULL)", name="revocation_has_reason"),
        # Closing without revoking is only for an authorization that has already expired.
        sa.CheckConstraint(
            "closed_at IS NULL OR revoked_at IS NOT NULL OR closed_at >= expires_at", name="closed_if_expired"
        ),
        sa.CheckConstraint("revoked_at IS NULL OR revoked_at <= expires_at", name="revoked_before_expiry"),
        sa.CheckConstraint("beneficiary_id IS NOT NULL OR closed_at IS NOT NULL", name="open_is_identified"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mandate_id: Mapped[int] = _fk("mandates.id", index=False)  # covered by the unique constraint
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # covered by the partial index
    beneficiary_id: Mapped[int | None] = _fk("beneficiaries.id", nullable=True)
    demarche: Mapped[Demarche] = mapped_column(enum_column(Demarche, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    revocation_reason: Mapped[RevocationReason | None] = mapped_column(enum_column(RevocationReason))
    replaced_by_id: Mapped[int | None] = _fk("mandate_authorizations.id", nullable=True)

    mandate: Mapped[Mandate] = relationship(back_populates="authorizations")
    revoked_by = relationship("User")
    replaced_by = relationship("Authorization", remote_side=[id])

    def is_live(self, now: datetime | None = None) -> bool:
        return self.revoked_at is None and self.expires_at > (now or utcnow())

    def status(self, now: datetime | None = None) -> AuthorizationStatus:
        if self.revoked_at is not None:
            if self.revocation_reason == RevocationReason.REMPLACEE:
                return AuthorizationStatus.REMPLACEE
            return AuthorizationStatus.REVOQUEE
        if self.expires_at <= (now or utcnow()):
            return AuthorizationStatus.EXPIREE
        return AuthorizationStatus.EN_VIGUEUR


class MandateUse(db.Model):
    """The aidant recorded, before acting, that they used an authorization (the journal of uses)."""

    __tablename__ = "mandate_uses"
    __table_args__ = (sa.Index("ix_mandate_uses_mandate_at", "mandate_id", "used_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    authorization_id: Mapped[int] = _fk("mandate_authorizations.id")
    mandate_id: Mapped[int] = _fk("mandates.id", index=False)  # see ix_mandate_uses_mandate_at
    structure_id: Mapped[int] = _fk("structures.id")  # the structure that acted, kept after a transfer
    used_by_id: Mapped[int] = _fk("users.id")
    used_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    demarche: Mapped[Demarche] = mapped_column(enum_column(Demarche, 16))
    description: Mapped[str | None] = mapped_column(sa.String(200))

    authorization: Mapped[Authorization] = relationship()
    mandate: Mapped[Mandate] = relationship()
    used_by = relationship("User")


class RevocationRequest(db.Model):
    """The beneficiary asks the structure to revoke (all or some démarches); tracked until handled."""

    __tablename__ = "mandate_revocation_requests"
    __table_args__ = (
        sa.CheckConstraint("(status = 'en_attente') = (handled_at IS NULL)", name="handled_when_closed"),
        sa.Index("ix_mandate_revocation_requests_mandate_status", "mandate_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mandate_id: Mapped[int] = _fk("mandates.id", index=False)  # see the index above
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[RevocationChannel] = mapped_column(enum_column(RevocationChannel))
    # The démarches the person wants revoked; empty means the whole mandate.
    demarches: Mapped[list] = mapped_column(sa.JSON, default=list)
    recorded_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    status: Mapped[RevocationRequestStatus] = mapped_column(
        enum_column(RevocationRequestStatus, 16), default=RevocationRequestStatus.EN_ATTENTE
    )
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    handling_note: Mapped[str | None] = mapped_column(sa.String(300))

    mandate: Mapped[Mandate] = relationship()
    recorded_by = relationship("User", foreign_keys=[recorded_by_id])
    handled_by = relationship("User", foreign_keys=[handled_by_id])

    @property
    def demarche_labels(self) -> list[str]:
        return [Demarche.label_of(d) for d in self.demarches] or ["Tout le mandat"]


class MandateNotification(db.Model):
    """An in-app notice for an aidant (mandate expiring soon, revocation request to handle)."""

    __tablename__ = "mandate_notifications"
    __table_args__ = (sa.Index("ix_mandate_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = _fk("users.id", index=False)  # see ix_mandate_notifications_user_read
    mandate_id: Mapped[int] = _fk("mandates.id")
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind, 24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    mandate: Mapped[Mandate] = relationship()
