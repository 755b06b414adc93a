"""Funders, their programmes (what each covers), follow-up surveys and the report files kept for
download.

- A :class:`Funder` (État/ANCT, métropole, département, CAF…) funds :class:`Programme` rows, each
  with a period, an optional territory and what it covers: structures (conventions), mediators
  (funded posts) and, explicitly, single activities (:data:`programme_activities`). An activity
  belongs to a programme when its date is inside the programme's period and its structure or its
  mediator is covered, or when it is attributed explicitly (see :mod:`mediation.evaluation.scope`).
- A :class:`FollowUp` is the short questionnaire asked some time after a case's pathway is
  completed or the case is closed (one per case), by phone (the mediator records the answers) or
  from the person's wallet.
- A :class:`ReportFile` is a generated impact report or export (PDF, XLSX, CSV) kept for its
  author to download; its parameters hold filter ids only, never personal data.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.types import LabelledEnum, UTCDateTime, enum_column, utcnow

__all__ = [
    "FollowUp",
    "Funder",
    "Programme",
    "ReportFile",
    "programme_activities",
    "programme_mediators",
    "programme_structures",
]


def _fk(target: str, *, nullable: bool = False, index: bool = True):
    return mapped_column(sa.ForeignKey(target, ondelete="RESTRICT"), index=index, nullable=nullable)


class FunderKind(LabelledEnum):
    ETAT = ("etat", "État (ANCT, préfecture)")
    REGION = ("region", "Région")
    DEPARTEMENT = ("departement", "Département")
    METROPOLE = ("metropole", "Métropole ou intercommunalité")
    COMMUNE = ("commune", "Commune")
    CAF = ("caf", "Caisse d'allocations familiales")
    CARSAT = ("carsat", "CARSAT")
    FONDATION = ("fondation", "Fondation")
    AUTRE = ("autre", "Autre financeur")


class Funder(db.Model):
    """A financeur. Funder accounts (``users.funder_id``) see its programmes' aggregates only."""

    __tablename__ = "funders"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[FunderKind] = mapped_column(enum_column(FunderKind, 20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    programmes: Mapped[list[Programme]] = relationship(back_populates="funder", order_by="Programme.starts_on")

    def __str__(self) -> str:
        return self.name


programme_structures = sa.Table(
    "programme_structures",
    db.metadata,
    sa.Column("programme_id", sa.ForeignKey("programmes.id", ondelete="RESTRICT"), primary_key=True),
    sa.Column("structure_id", sa.ForeignKey("structures.id", ondelete="RESTRICT"), primary_key=True, index=True),
)

programme_mediators = sa.Table(
    "programme_mediators",
    db.metadata,
    sa.Column("programme_id", sa.ForeignKey("programmes.id", ondelete="RESTRICT"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="RESTRICT"), primary_key=True, index=True),
)

# Explicit attribution of an activity to a programme (in addition to the coverage).
programme_activities = sa.Table(
    "programme_activities",
    db.metadata,
    sa.Column("programme_id", sa.ForeignKey("programmes.id", ondelete="RESTRICT"), primary_key=True),
    sa.Column("activity_id", sa.ForeignKey("activities.id", ondelete="RESTRICT"), primary_key=True, index=True),
    sa.Column("attributed_by_id", sa.ForeignKey("users.id", ondelete="RESTRICT"), nullable=True, index=True),
    sa.Column("attributed_at", UTCDateTime, nullable=False, default=utcnow),
)


class Programme(db.Model):
    """A dispositif or convention of a funder: period (inclusive), territory, coverage."""

    __tablename__ = "programmes"
    __table_args__ = (
        sa.UniqueConstraint("funder_id", "name", name="uq_programmes_funder_name"),
        sa.CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    funder_id: Mapped[int] = _fk("funders.id")
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[date] = mapped_column(sa.Date)
    territory_id: Mapped[int | None] = _fk("territories.id", nullable=True)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    funder: Mapped[Funder] = relationship(back_populates="programmes")
    territory = relationship("Territory")
    structures = relationship("Structure", secondary=programme_structures, order_by="Structure.name")
    mediators = relationship("User", secondary=programme_mediators, order_by="User.last_name")

    def __str__(self) -> str:
        return self.name


class FollowUpTrigger(LabelledEnum):
    PARCOURS_TERMINE = ("parcours_termine", "Parcours terminé")
    CLOTURE = ("cloture", "Dossier clos")


class FollowUpStatus(LabelledEnum):
    A_FAIRE = ("a_faire", "À faire")
    REPONDU = ("repondu", "Réponses recueillies")
    INJOIGNABLE = ("injoignable", "Personne injoignable")
    REFUS = ("refus", "La personne ne souhaite pas répondre")


class FollowUpChannel(LabelledEnum):
    TELEPHONE = ("telephone", "Appel du médiateur")
    PORTEFEUILLE = ("portefeuille", "Réponse de la personne depuis son carnet")


class FollowUp(db.Model):
    """The follow-up questionnaire of one case, due ``delay`` days after its trigger.

    Answers: ``online_alone`` (an online procedure done alone since), ``job_or_training`` (found a
    job or a training — asked to job seekers only, null otherwise), ``less_isolated``,
    ``comfort_now`` (1–5). A question left unanswered stays null.
    """

    __tablename__ = "follow_ups"
    __table_args__ = (
        sa.Index("ix_follow_ups_structure_due", "structure_id", "due_on"),
        sa.CheckConstraint("comfort_now IS NULL OR (comfort_now >= 1 AND comfort_now <= 5)", name="comfort_range"),
        sa.CheckConstraint("(status = 'a_faire') = (closed_at IS NULL)", name="closed_unless_todo"),
        sa.CheckConstraint("status = 'repondu' OR (online_alone IS NULL AND job_or_training IS NULL "
                           "AND less_isolated IS NULL AND comfort_now IS NULL)", name="answers_only_when_answered"),
        sa.CheckConstraint("(status = 'repondu') = (channel IS NOT NULL)", name="answered_has_channel"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="RESTRICT"), unique=True)
    beneficiary_id: Mapped[int] = _fk("beneficiaries.id")
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # ix_follow_ups_structure_due
    trigger: Mapped[FollowUpTrigger] = mapped_column(enum_column(FollowUpTrigger, 20))
    triggered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_on: Mapped[date] = mapped_column(sa.Date)
    status: Mapped[FollowUpStatus] = mapped_column(enum_column(FollowUpStatus, 20), default=FollowUpStatus.A_FAIRE)
    channel: Mapped[FollowUpChannel | None] = mapped_column(enum_column(FollowUpChannel, 20))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    online_alone: Mapped[bool | None] = mapped_column(sa.Boolean)
    job_or_training: Mapped[bool | None] = mapped_column(sa.Boolean)
    less_isolated: Mapped[bool | None] = mapped_column(sa.Boolean)
    comfort_now: Mapped[int | None] = mapped_column(sa.SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case = relationship("Case")
    structure = relationship("Structure")
    closed_by = relationship("User")

    @property
    def is_open(self) -> bool:
        return self.status == FollowUpStatus.A_FAIRE


class ReportFormat(LabelledEnum):
    PDF = ("pdf", "Rapport d'impact (PDF)")
    XLSX = ("xlsx", "Tableaux (XLSX)")
    CSV = ("csv", "Tableaux (CSV)")


REPORT_MIMETYPES = {
    ReportFormat.PDF: "application/pdf",
    ReportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ReportFormat.CSV: "text/csv; charset=utf-8",
}


class ReportFile(db.Model):
    """A generated report kept for download by its author (and administrators)."""

    __tablename__ = "evaluation_reports"
    __table_args__ = (sa.Index("ix_evaluation_reports_author_created", "created_by_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_by_id: Mapped[int] = _fk("users.id", index=False)  # ix_evaluation_reports_author_created
    job_id: Mapped[int | None] = _fk("jobs.id", nullable=True)
    format: Mapped[ReportFormat] = mapped_column(enum_column(ReportFormat, 10))
    title: Mapped[str] = mapped_column(sa.String(300))
    # The filters (ids and dates only, as in the dashboard's query string).
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    filename: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int] = mapped_column(sa.Integer)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    created_by = relationship("User")

    @property
    def mimetype(self) -> str:
        return REPORT_MIMETYPES[self.format]

