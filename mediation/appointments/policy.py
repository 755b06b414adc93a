"""Who may see and change appointments, offers, blocked time and self-assessments.

- A place's offers and blocked time: its mediators (today), the coordinators of its territory and
  administrators.
- Appointments: visible to the staff of the place (receiving side), to the mediators of the
  structure that referred the person (sending side) and to coordinators of the territory of the
  place; administrators see all. Mediators book on a case they may see (pathways scope); mediators
  of either side cancel or move; only the place's mediators record attendance.
- Self-assessments: the place's mediators and managers write; only coordinators of the territory
  and administrators publish (the review).

Lookups go through the scope: an id outside it is simply not found (404).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.appointments.models import Appointment
from mediation.auth.models import Role, User
from mediation.directory.models import Structure
from mediation.directory.scopes import structure_scope
from mediation.pathways.models import Referral
from mediation.pathways.policy import MANAGERS, STAFF, my_structure_ids, works_for

__all__ = ["MANAGERS", "STAFF"]


def place_scope(user: User) -> sa.Select | None:
    """Places whose offers and agenda ``user`` manages; None means all."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.MEDIATOR:
        return my_structure_ids(user)
    if user.role == Role.COORDINATOR:
        return structure_scope(user)
    return sa.select(Structure.id).where(sa.false())


def places(session: Session, user: User) -> list[Structure]:
    scope = place_scope(user)
    query = sa.select(Structure).where(Structure.archived_at.is_(None)).order_by(Structure.name)
    if scope is not None:
        query = query.where(Structure.id.in_(scope))
    return list(session.scalars(query.limit(500)))


def get_place(session: Session, user: User, structure_id: int) -> Structure | None:
    scope = place_scope(user)
    query = sa.select(Structure).where(Structure.id == structure_id)
    if scope is not None:
        query = query.where(Structure.id.in_(scope))
    return session.scalar(query)


def visible_appointments(user: User) -> sa.Select:
    query = sa.select(Appointment)
    scope = place_scope(user)
    if scope is None:
        return query
    if user.role == Role.MEDIATOR:
        sent = sa.select(Referral.id).where(Referral.from_structure_id.in_(scope))
        return query.where(sa.or_(Appointment.structure_id.in_(scope), Appointment.referral_id.in_(sent)))
    return query.where(Appointment.structure_id.in_(scope))


def get_appointment(session: Session, user: User, appointment_id: int, *options) -> Appointment | None:
    return session.scalar(visible_appointments(user).where(Appointment.id == appointment_id).options(*options))


def can_book(user: User) -> bool:
    return user.role == Role.MEDIATOR


def can_change(session: Session, user: User, appointment: Appointment) -> bool:
    """Cancel or move: mediators of the place, or of the structure that referred the person."""
    if user.role != Role.MEDIATOR:
        return False
    if works_for(session, user, appointment.structure_id):
        return True
    return appointment.referral is not None and works_for(session, user, appointment.referral.from_structure_id)


def can_record_attendance(session: Session, user: User, appointment: Appointment) -> bool:
    return works_for(session, user, appointment.structure_id)


def can_manage_place(session: Session, user: User, structure_id: int) -> bool:
    return get_place(session, user, structure_id) is not None and user.role in STAFF


def can_publish_assessment(user: User) -> bool:
    return user.role in MANAGERS
