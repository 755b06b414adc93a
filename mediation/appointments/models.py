"""Appointments at a place: what a place offers per service (bookable slots and the coordination-
reviewed self-assessment), the time it blocks, and the appointments themselves.

Slots are not stored: they are computed from the offer's opening hours (its own, else the place's
``horaires``), its duration and its capacity, minus the blocked periods
(:mod:`mediation.appointments.slots`). What is stored is each appointment's *seat*: the database
refuses a seat outside ``0 ≤ seat < capacity`` (CHECK) and two live appointments on the same seat of
the same slot (partial unique index), on SQLite and PostgreSQL alike — the last seat cannot be sold
twice, whatever two mediators do at the same moment.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mediation.extensions import db
from mediation.types import LabelledEnum, UTCDateTime, enum_column, utcnow

__all__ = ["Appointment", "AppointmentOffer", "AppointmentState", "ServiceAssessment", "SlotBlock"]


def _fk(target: str, *, nullable: bool = False, index: bool = True):
    return mapped_column(sa.ForeignKey(target, ondelete="RESTRICT"), index=index, nullable=nullable)


class AppointmentState(LabelledEnum):
    BOOKED = "reserve", "Réservé"
    CANCELLED = "annule", "Annulé"
    MOVED = "deplace", "Déplacé"
    ATTENDED = "honore", "Venu"
    MISSED = "manque", "Pas venu"


#: States that hold their seat (a cancelled or moved appointment frees it).
SEATED_STATES = (AppointmentState.BOOKED, AppointmentState.ATTENDED, AppointmentState.MISSED)
_SEATED_SQL = "state IN ('reserve', 'honore', 'manque')"


class AssessmentLevel(LabelledEnum):
    """What a place offers for a service, from the lightest to the most thorough."""

    INFORMATION = "information", "Information"
    ORIENTATION = "orientation", "Orientation vers un lieu adapté"
    AIDE_PONCTUELLE = "aide_ponctuelle", "Aide ponctuelle (faire avec la personne)"
    ACCOMPAGNEMENT = "accompagnement", "Accompagnement individuel"
    PLUSIEURS_SEANCES = "plusieurs_seances", "Accompagnement sur plusieurs séances"


class AssessmentStatus(LabelledEnum):
    DRAFT = "brouillon", "À relire par la coordination"
    PUBLISHED = "publie", "Publié"


class AppointmentOffer(db.Model):
    """A service of the national schema a place takes appointments for."""

    __tablename__ = "appointment_offers"
    __table_args__ = (
        sa.UniqueConstraint("structure_id", "service", name="uq_appointment_offers_structure_service"),
        sa.CheckConstraint("duration_min BETWEEN 5 AND 480", name="duration_range"),
        sa.CheckConstraint("capacity BETWEEN 1 AND 50", name="capacity_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # uq_appointment_offers_structure_service
    service: Mapped[str] = mapped_column(sa.String(100))
    duration_min: Mapped[int] = mapped_column(sa.SmallInteger, default=30)
    capacity: Mapped[int] = mapped_column(sa.SmallInteger, default=1)
    hours: Mapped[str | None] = mapped_column(sa.String(500))  # OSM opening hours; None: the place's
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    structure = relationship("Structure")


class SlotBlock(db.Model):
    """A period when a place (or one of its offers) takes no appointment: closure, training, a
    mediator's time blocked."""

    __tablename__ = "appointment_blocks"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="dates_ordered"),
        sa.Index("ix_appointment_blocks_structure_starts", "structure_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # ix_appointment_blocks_structure_starts
    offer_id: Mapped[int | None] = _fk("appointment_offers.id", nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(sa.String(200))
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Appointment(db.Model):
    __tablename__ = "appointments"
    __table_args__ = (
        sa.CheckConstraint("seat >= 0 AND seat < capacity", name="seat_within_capacity"),
        sa.CheckConstraint("ends_at > starts_at", name="dates_ordered"),
        sa.Index("uq_appointments_offer_start_seat", "offer_id", "starts_at", "seat", unique=True,
                 sqlite_where=sa.text(_SEATED_SQL), postgresql_where=sa.text(_SEATED_SQL)),
        sa.Index("ix_appointments_structure_starts", "structure_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    offer_id: Mapped[int] = _fk("appointment_offers.id", index=False)  # uq_appointments_offer_start_seat
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # ix_appointments_structure_starts
    service: Mapped[str] = mapped_column(sa.String(100))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    seat: Mapped[int] = mapped_column(sa.SmallInteger)
    capacity: Mapped[int] = mapped_column(sa.SmallInteger)
    state: Mapped[AppointmentState] = mapped_column(enum_column(AppointmentState, 20), default=AppointmentState.BOOKED)
    beneficiary_id: Mapped[int] = _fk("beneficiaries.id")
    case_id: Mapped[int | None] = _fk("cases.id", nullable=True)
    referral_id: Mapped[int | None] = _fk("referrals.id", nullable=True)
    activity_id: Mapped[int | None] = _fk("activities.id", nullable=True)
    moved_to_id: Mapped[int | None] = _fk("appointments.id", nullable=True)
    note: Mapped[str | None] = mapped_column(sa.String(500))
    created_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    closed_by_person: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    confirmation_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    offer: Mapped[AppointmentOffer] = relationship()
    structure = relationship("Structure")
    beneficiary = relationship("Beneficiary")
    referral = relationship("Referral")

    @property
    def is_live(self) -> bool:
        return self.state == AppointmentState.BOOKED


class ServiceAssessment(db.Model):
    """What a place says it offers for one service of the national schema, and at what level;
    published once the coordination reviewed it."""

    __tablename__ = "service_assessments"
    __table_args__ = (
        sa.UniqueConstraint("structure_id", "service", name="uq_service_assessments_structure_service"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    structure_id: Mapped[int] = _fk("structures.id", index=False)  # uq_service_assessments_structure_service
    service: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[AssessmentLevel] = mapped_column(enum_column(AssessmentLevel, 30))
    publics: Mapped[list] = mapped_column(sa.JSON, default=list)
    accessibility: Mapped[list] = mapped_column(sa.JSON, default=list)
    free_of_charge: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    details: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[AssessmentStatus] = mapped_column(enum_column(AssessmentStatus, 20), default=AssessmentStatus.DRAFT)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = _fk("users.id", nullable=True)
