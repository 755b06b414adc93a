"""Training records: one row per training or certification a staff member holds.

The kinds come from a reference list (:class:`TrainingKind`) plus « Autre » with a free title. The
Aidants Connect habilitation is one of these kinds: an aidant is habilitated while a record of that
kind is in force (obtained, not expired) — the one source of truth read by the mandates' policy.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.types import LabelledEnum, UTCDateTime, enum_column, utcnow
from mediation.uploads import EXTENSIONS, SCAN_TYPES


class TrainingKind(LabelledEnum):
    """The reference list of the trainings and certifications followed in the network."""

    CONSEILLER_NUMERIQUE = ("conseiller_numerique",
                            "Formation initiale « Conseiller numérique » (Solidarité Numérique)")
    CCP_REMN = ("ccp_remn", "CCP « Responsable d’espace de médiation numérique » (REMN)")
    PIX = ("pix", "Certification Pix")
    AIDANTS_CONNECT = ("aidants_connect", "Habilitation Aidants Connect (formation d’aidant)")
    PSC1 = ("psc1", "PSC1 (prévention et secours civiques de niveau 1)")
    AUTRE = ("autre", "Autre formation")

    @property
    def short_label(self) -> str:
        return SHORT_LABELS[self]


SHORT_LABELS = {
    TrainingKind.CONSEILLER_NUMERIQUE: "Conseiller numérique",
    TrainingKind.CCP_REMN: "CCP REMN",
    TrainingKind.PIX: "Pix",
    TrainingKind.AIDANTS_CONNECT: "Aidants Connect",
    TrainingKind.PSC1: "PSC1",
    TrainingKind.AUTRE: "Autre",
}
# The kinds of the reference list, in the skills table (free entries are not compared).
REFERENCE_KINDS = tuple(k for k in TrainingKind if k != TrainingKind.AUTRE)
HABILITATION_KIND = TrainingKind.AIDANTS_CONNECT


class TrainingRecord(db.Model):
    """A training or certification of a staff member: when obtained, until when valid (None: no
    expiry), the certificate scanned (PDF, JPEG or PNG recognised by its content)."""

    __tablename__ = "training_records"
    __table_args__ = (
        sa.Index("ix_training_records_user_kind", "user_id", "kind"),
        sa.Index("ix_training_records_expires_on", "expires_on"),
        sa.CheckConstraint("kind <> 'autre' OR title IS NOT NULL", name="other_has_title"),
        sa.CheckConstraint("expires_on IS NULL OR expires_on > obtained_on", name="expires_after_obtained"),
        sa.CheckConstraint("kind <> 'aidants_connect' OR expires_on IS NOT NULL", name="habilitation_expires"),
        sa.CheckConstraint("(certificate IS NULL) = (certificate_type IS NULL)", name="certificate_has_type"),
        sa.CheckConstraint(
            "certificate_type IS NULL OR certificate_type IN ("
            + ", ".join(f"'{t}'" for t in SCAN_TYPES) + ")", name="certificate_type_allowed"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=False)  # ix_training_records_user_kind
    kind: Mapped[TrainingKind] = mapped_column(enum_column(TrainingKind, 30))
    title: Mapped[str | None] = mapped_column(sa.String(200))
    organisation: Mapped[str | None] = mapped_column(sa.String(200))
    obtained_on: Mapped[date] = mapped_column(sa.Date)
    expires_on: Mapped[date | None] = mapped_column(sa.Date)
    certificate: Mapped[bytes | None] = mapped_column(sa.LargeBinary, deferred=True)
    certificate_type: Mapped[str | None] = mapped_column(sa.String(40))
    certificate_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # When the person was reminded that it expires soon, and when the coordination was told it has
    # expired (each once per record; a renewal is a new record).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expiry_reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User", foreign_keys=[user_id])

    @property
    def name(self) -> str:
        """What the record is, for a reader: the free title of « Autre », the kind's label otherwise."""
        return self.title if self.kind == TrainingKind.AUTRE and self.title else self.kind.label

    @property
    def certificate_extension(self) -> str | None:
        return EXTENSIONS.get(self.certificate_type) if self.certificate_type else None

    def in_force(self, day: date) -> bool:
        return self.obtained_on <= day and (self.expires_on is None or self.expires_on >= day)

    def status(self, day: date, soon_days: int) -> str:
        """« valide », « expire bientôt », « expirée » or « à venir » (a date ahead of ``day``)."""
        if self.obtained_on > day:
            return "à venir"
        if self.expires_on is None:
            return "valide"
        if self.expires_on < day:
            return "expirée"
        if (self.expires_on - day).days <= soon_days:
            return "expire bientôt"
        return "valide"
