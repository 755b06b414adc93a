"""Pathways (parcours) and what moves a case between structures.

PathwayTemplate → PathwayVersion → PathwayLevel → Milestone (+ MilestoneAlignment, prerequisites);
Enrolment of a case in one version, MilestoneValidation, Assessment (the diagnosis grid), Referral
(orientation) and CaseTransfer (reassignment history). In-app notices of a structure live in
:mod:`mediation.directory.notifications`, mediator loans in :mod:`mediation.directory.models`.

A version with enrolments is never edited: editing creates the next version (see
:mod:`mediation.pathways.versions`), so enrolled people keep theirs.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.cases.enums import Autonomie
from mediation.extensions import db
from mediation.pathways.enums import (
    AssessmentMoment,
    AutonomyDomain,
    DeclineReason,
    EnrolmentState,
    MilestoneKind,
    ReferralStatus,
    TransferReason,
)
from mediation.types import UTCDateTime, enum_column, utcnow

__all__ = [
    "Assessment",
    "CaseTransfer",
    "Enrolment",
    "Milestone",
    "MilestoneAlignment",
    "MilestoneValidation",
    "PathwayLevel",
    "PathwayTemplate",
    "PathwayVersion",
    "Referral",
    "milestone_prerequisites",
]


def _fk(target: str, *, nullable: bool = False, index: bool = True):
    return mapped_column(sa.ForeignKey(target, ondelete="RESTRICT"), index=index, nullable=nullable)


# --- templates and versions ---------------------------------------------------------------------

class PathwayTemplate(db.Model):
    """A pathway defined by a territory's coordinators (``territory_id``), or by administrators for
    every territory (``territory_id`` null)."""

    __tablename__ = "pathway_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    territory_id: Mapped[int | None] = _fk("territories.id", nullable=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    territory = relationship("Territory")
    versions: Mapped[list[PathwayVersion]] = relationship(
        back_populates="template", order_by="PathwayVersion.number")

    @property
    def current_version(self) -> PathwayVersion | None:
        return self.versions[-1] if self.versions else None

    def __str__(self) -> str:
        return self.name


class PathwayVersion(db.Model):
    """One frozen-once-used version of a template; new enrolments use the latest."""

    __tablename__ = "pathway_versions"
    __table_args__ = (
        sa.UniqueConstraint("template_id", "number", name="uq_pathway_versions_template_number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = _fk("pathway_templates.id", index=False)  # covered by the unique constraint
    number: Mapped[int] = mapped_column(sa.Integer)
    based_on_id: Mapped[int | None] = _fk("pathway_versions.id", nullable=True)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    template: Mapped[PathwayTemplate] = relationship(back_populates="versions")
    levels: Mapped[list[PathwayLevel]] = relationship(
        back_populates="version", order_by="PathwayLevel.position")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="version", order_by=lambda: (Milestone.position, Milestone.id))

    @property
    def completion_milestone(self) -> Milestone | None:
        return next((m for m in self.milestones if m.kind == MilestoneKind.PATHWAY), None)


class PathwayLevel(db.Model):
    __tablename__ = "pathway_levels"
    __table_args__ = (
        sa.UniqueConstraint("version_id", "position", name="uq_pathway_levels_version_position"),
        sa.CheckConstraint("position >= 1", name="position_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = _fk("pathway_versions.id", index=False)  # covered by the unique constraint
    position: Mapped[int] = mapped_column(sa.Integer)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)

    version: Mapped[PathwayVersion] = relationship(back_populates="levels")
    milestones: Mapped[list[Milestone]] = relationship(
        back_populates="level", order_by=lambda: (Milestone.position, Milestone.id))

    @property
    def steps(self) -> list[Milestone]:
        return [m for m in self.milestones if m.kind == MilestoneKind.STEP]

    @property
    def completion_milestone(self) -> Milestone | None:
        return next((m for m in self.milestones if m.kind == MilestoneKind.LEVEL), None)


milestone_prerequisites = sa.Table(
    "milestone_prerequisites",
    db.metadata,
    sa.Column("milestone_id", sa.ForeignKey("milestones.id", ondelete="RESTRICT"), primary_key=True),
    sa.Column("required_id", sa.ForeignKey("milestones.id", ondelete="RESTRICT"), primary_key=True, index=True),
    sa.CheckConstraint("milestone_id <> required_id", name="not_self"),
)


class Milestone(db.Model):
    """A concrete, observable capability (étape), or the completion of a level or of the pathway.

    Steps are validated by mediators; completions are computed. ``awards_badge`` says whether its
    validation issues an Open Badge (the badges domain hangs its badge class off the milestone).
    ``service`` is the national-schema service a structure must offer for this step (referrals).
    """

    __tablename__ = "milestones"
    __table_args__ = (
        sa.CheckConstraint("(kind = 'parcours') = (level_id IS NULL)", name="level_unless_pathway"),
        sa.Index("uq_milestones_level_completion", "level_id", unique=True,
                 sqlite_where=sa.text("kind = 'niveau'"), postgresql_where=sa.text("kind = 'niveau'")),
        sa.Index("uq_milestones_pathway_completion", "version_id", unique=True,
                 sqlite_where=sa.text("kind = 'parcours'"), postgresql_where=sa.text("kind = 'parcours'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = _fk("pathway_versions.id")
    level_id: Mapped[int | None] = _fk("pathway_levels.id", nullable=True)
    kind: Mapped[MilestoneKind] = mapped_column(enum_column(MilestoneKind, 20), default=MilestoneKind.STEP)
    position: Mapped[int] = mapped_column(sa.Integer, default=1)
    title: Mapped[str] = mapped_column(sa.String(200))
    criteria: Mapped[str | None] = mapped_column(sa.Text)
    service: Mapped[str | None] = mapped_column(sa.String(100))
    awards_badge: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The milestone of the previous version this one was copied from (a new version is a deep copy):
    # what stays « the same step » across versions, e.g. for its badge's endorsements.
    copied_from_id: Mapped[int | None] = mapped_column(sa.ForeignKey("milestones.id", ondelete="SET NULL"),
                                                       index=True, nullable=True)

    version: Mapped[PathwayVersion] = relationship(back_populates="milestones")
    level: Mapped[PathwayLevel | None] = relationship(back_populates="milestones")
    alignments: Mapped[list[MilestoneAlignment]] = relationship(
        back_populates="milestone", cascade="all, delete-orphan",
        order_by=lambda: (MilestoneAlignment.framework.desc(), MilestoneAlignment.code))
    prerequisites: Mapped[list[Milestone]] = relationship(
        secondary=milestone_prerequisites,
        primaryjoin="Milestone.id == milestone_prerequisites.c.milestone_id",
        secondaryjoin="Milestone.id == milestone_prerequisites.c.required_id",
        order_by="Milestone.id",
    )

    @property
    def is_step(self) -> bool:
        return self.kind == MilestoneKind.STEP

    def __str__(self) -> str:
        return self.title


class MilestoneAlignment(db.Model):
    """Alignment of a milestone with a competence of Pix or DigComp 2.2 (optionally at a level)."""

    __tablename__ = "milestone_alignments"
    __table_args__ = (
        sa.UniqueConstraint("milestone_id", "framework", "code", name="uq_milestone_alignments_code"),
        sa.CheckConstraint("framework IN ('pix', 'digcomp')", name="known_framework"),
        sa.CheckConstraint("level IS NULL OR (level >= 1 AND level <= 8)", name="level_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = _fk("milestones.id", index=False)  # covered by the unique constraint
    framework: Mapped[str] = mapped_column(sa.String(20))
    code: Mapped[str] = mapped_column(sa.String(10))
    level: Mapped[int | None] = mapped_column(sa.SmallInteger)

    milestone: Mapped[Milestone] = relationship(back_populates="alignments")

    @property
    def label(self) -> str:
        from mediation.pathways.enums import FRAMEWORKS, proficiency_label

        framework = FRAMEWORKS[self.framework]
        level = proficiency_label(self.framework, self.level)
        return framework.label_of(self.code) + (f" ({level})" if level else "")


# --- enrolment and progress ---------------------------------------------------------------------

class Enrolment(db.Model):
    """A case follows one version of a pathway; its progress moves with the case."""

    __tablename__ = "pathway_enrolments"
    __table_args__ = (
        sa.Index("uq_pathway_enrolments_live", "case_id", "template_id", unique=True,
                 sqlite_where=sa.text("state = 'en_cours'"), postgresql_where=sa.text("state = 'en_cours'")),
        sa.CheckConstraint("(state = 'termine') = (completed_at IS NOT NULL)", name="completed_has_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = _fk("cases.id")
    template_id: Mapped[int] = _fk("pathway_templates.id")
    version_id: Mapped[int] = _fk("pathway_versions.id")
    structure_id: Mapped[int] = _fk("structures.id")
    enrolled_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    state: Mapped[EnrolmentState] = mapped_column(enum_column(EnrolmentState, 20), default=EnrolmentState.EN_COURS)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    case = relationship("Case")
    template: Mapped[PathwayTemplate] = relationship()
    version: Mapped[PathwayVersion] = relationship()
    structure = relationship("Structure")
    enrolled_by = relationship("User")
    validations: Mapped[list[MilestoneValidation]] = relationship(
        back_populates="enrolment", order_by="MilestoneValidation.validated_at")


class MilestoneValidation(db.Model):
    """A milestone observed for a person, by a mediator of a structure, with its evidence.

    Level and pathway completions are validated automatically (``automatic``) when their last
    step is.
    """

    __tablename__ = "milestone_validations"
    __table_args__ = (
        sa.UniqueConstraint("enrolment_id", "milestone_id", name="uq_milestone_validations_once"),
        sa.CheckConstraint("pix_score IS NULL OR (pix_score >= 0 AND pix_score <= 1024)", name="pix_score_range"),
        sa.CheckConstraint("automatic OR validated_by_id IS NOT NULL", name="validated_by_someone"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = _fk("pathway_enrolments.id", index=False)  # covered by the unique constraint
    milestone_id: Mapped[int] = _fk("milestones.id")
    validated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    validated_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    structure_id: Mapped[int | None] = _fk("structures.id", nullable=True)
    activity_id: Mapped[int | None] = _fk("activities.id", nullable=True)
    narrative: Mapped[str | None] = mapped_column(sa.Text)
    pix_score: Mapped[int | None] = mapped_column(sa.SmallInteger)
    automatic: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    enrolment: Mapped[Enrolment] = relationship(back_populates="validations")
    milestone: Mapped[Milestone] = relationship()
    validated_by = relationship("User")
    structure = relationship("Structure")
    activity = relationship("Activity")


class Assessment(db.Model):
    """The common reading grid, taken at enrolment, at milestones and at the end (same scale)."""

    __tablename__ = "assessments"
    __table_args__ = (
        sa.Index("ix_assessments_case_taken", "case_id", "taken_at"),
        sa.CheckConstraint("comfort >= 1 AND comfort <= 5", name="comfort_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = _fk("cases.id", index=False)  # covered by ix_assessments_case_taken
    enrolment_id: Mapped[int | None] = _fk("pathway_enrolments.id", nullable=True)
    moment: Mapped[AssessmentMoment] = mapped_column(enum_column(AssessmentMoment, 20))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    structure_id: Mapped[int] = _fk("structures.id")
    equipment: Mapped[list] = mapped_column(sa.JSON, default=list)
    autonomy_appareils: Mapped[Autonomie | None] = mapped_column(enum_column(Autonomie))
    autonomy_internet: Mapped[Autonomie | None] = mapped_column(enum_column(Autonomie))
    autonomy_communication: Mapped[Autonomie | None] = mapped_column(enum_column(Autonomie))
    autonomy_demarches: Mapped[Autonomie | None] = mapped_column(enum_column(Autonomie))
    autonomy_securite: Mapped[Autonomie | None] = mapped_column(enum_column(Autonomie))
    comfort: Mapped[int] = mapped_column(sa.SmallInteger)
    needs: Mapped[list] = mapped_column(sa.JSON, default=list)
    language: Mapped[str | None] = mapped_column(sa.String(100))
    language_support: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    accessibility: Mapped[list] = mapped_column(sa.JSON, default=list)

    taken_by = relationship("User")
    structure = relationship("Structure")

    def autonomy(self, domain: AutonomyDomain) -> Autonomie | None:
        return getattr(self, f"autonomy_{domain.value}")


# --- referrals ----------------------------------------------------------------------------------

class Referral(db.Model):
    """An orientation of a person (their case) to another structure, for a step or a service.

    proposée → acceptée | refusée | annulée | honorée; acceptée → honorée | non honorée | annulée.
    Transitions are the methods below; each raises DomainError on an illegal move.
    """

    __tablename__ = "referrals"
    __table_args__ = (
        sa.CheckConstraint("from_structure_id <> to_structure_id", name="another_structure"),
        sa.CheckConstraint("status <> 'refusee' OR decline_reason IS NOT NULL", name="declined_has_reason"),
        sa.Index("ix_referrals_to_status", "to_structure_id", "status"),
        sa.Index("ix_referrals_from_status", "from_structure_id", "status"),
        sa.Index("uq_referrals_live", "case_id", "to_structure_id", unique=True,
                 sqlite_where=sa.text("status IN ('proposee', 'acceptee')"),
                 postgresql_where=sa.text("status IN ('proposee', 'acceptee')")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = _fk("cases.id")
    from_structure_id: Mapped[int] = _fk("structures.id", index=False)  # ix_referrals_from_status
    to_structure_id: Mapped[int] = _fk("structures.id", index=False)  # ix_referrals_to_status
    milestone_id: Mapped[int | None] = _fk("milestones.id", nullable=True)
    service: Mapped[str | None] = mapped_column(sa.String(100))
    motive: Mapped[str | None] = mapped_column(sa.Text)
    distance_km: Mapped[float | None] = mapped_column(sa.Float)
    status: Mapped[ReferralStatus] = mapped_column(enum_column(ReferralStatus, 20), default=ReferralStatus.PROPOSEE)
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_on: Mapped[date] = mapped_column(sa.Date)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    decline_reason: Mapped[DeclineReason | None] = mapped_column(enum_column(DeclineReason, 30))
    decline_comment: Mapped[str | None] = mapped_column(sa.String(500))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    honoured_activity_id: Mapped[int | None] = _fk("activities.id", nullable=True)
    automatic_outcome: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    case = relationship("Case")
    from_structure = relationship("Structure", foreign_keys=[from_structure_id])
    to_structure = relationship("Structure", foreign_keys=[to_structure_id])
    milestone: Mapped[Milestone | None] = relationship()
    created_by = relationship("User", foreign_keys=[created_by_id])
    responded_by = relationship("User", foreign_keys=[responded_by_id])
    closed_by = relationship("User", foreign_keys=[closed_by_id])
    honoured_activity = relationship("Activity")

    @property
    def is_live(self) -> bool:
        return self.status.is_live

    # Transitions: each returns the previous status.
    def accept(self, by_id: int) -> ReferralStatus:
        from mediation.errors import DomainError

        if self.status != ReferralStatus.PROPOSEE:
            raise DomainError("Seule une orientation en attente de réponse peut être acceptée.")
        self.responded_at, self.responded_by_id = utcnow(), by_id
        return self._move(ReferralStatus.ACCEPTEE)

    def decline(self, by_id: int, reason: DeclineReason, comment: str | None) -> ReferralStatus:
        from mediation.errors import DomainError

        if self.status != ReferralStatus.PROPOSEE:
            raise DomainError("Seule une orientation en attente de réponse peut être refusée.")
        self.responded_at, self.responded_by_id = utcnow(), by_id
        self.decline_reason, self.decline_comment = reason, comment
        return self._move(ReferralStatus.REFUSEE)

    def cancel(self, by_id: int) -> ReferralStatus:
        from mediation.errors import DomainError

        if not self.is_live:
            raise DomainError("Cette orientation est déjà terminée : elle ne peut plus être annulée.")
        return self._close(ReferralStatus.ANNULEE, by_id)

    def honour(self, by_id: int | None, activity_id: int | None = None) -> ReferralStatus:
        from mediation.errors import DomainError

        if not self.is_live:
            raise DomainError("Cette orientation est déjà terminée.")
        self.honoured_activity_id = activity_id
        self.automatic_outcome = by_id is None
        return self._close(ReferralStatus.HONOREE, by_id)

    def not_honour(self, by_id: int | None) -> ReferralStatus:
        from mediation.errors import DomainError

        if not self.is_live:
            raise DomainError("Cette orientation est déjà terminée.")
        self.automatic_outcome = by_id is None
        return self._close(ReferralStatus.NON_HONOREE, by_id)

    def _close(self, target: ReferralStatus, by_id: int | None) -> ReferralStatus:
        self.closed_at, self.closed_by_id = utcnow(), by_id
        return self._move(target)

    def _move(self, target: ReferralStatus) -> ReferralStatus:
        previous = self.status
        self.status = target
        return previous


# --- reassignment, notifications, loans ---------------------------------------------------------

class CaseTransfer(db.Model):
    """One move of a case (structure and/or mediator): who, when, from, to, why. Activities stay
    attributed to whoever did them; only the case moves."""

    __tablename__ = "case_transfers"
    __table_args__ = (sa.Index("ix_case_transfers_case_at", "case_id", "transferred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = _fk("cases.id", index=False)  # covered by ix_case_transfers_case_at
    from_structure_id: Mapped[int] = _fk("structures.id")
    to_structure_id: Mapped[int] = _fk("structures.id")
    from_mediator_id: Mapped[int | None] = _fk("users.id", nullable=True)
    to_mediator_id: Mapped[int | None] = _fk("users.id", nullable=True)
    reason: Mapped[TransferReason] = mapped_column(enum_column(TransferReason, 30))
    comment: Mapped[str | None] = mapped_column(sa.String(500))
    referral_id: Mapped[int | None] = _fk("referrals.id", nullable=True)
    batch: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    transferred_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    transferred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    case = relationship("Case")
    from_structure = relationship("Structure", foreign_keys=[from_structure_id])
    to_structure = relationship("Structure", foreign_keys=[to_structure_id])
    from_mediator = relationship("User", foreign_keys=[from_mediator_id])
    to_mediator = relationship("User", foreign_keys=[to_mediator_id])
    transferred_by = relationship("User", foreign_keys=[transferred_by_id])
