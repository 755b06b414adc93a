"""Who sees and records whose trainings.

- Everyone on the staff (mediator, coordinator) sees their own records and certificates, and records
  their own trainings — except the Aidants Connect habilitation, which only the coordination (or an
  administrator) records: it is what allows acting under a mandate.
- Coordinators see and manage the records of the staff of their territory (the accounts they see in
  the directory: mediators who work or worked there, the territory's coordinators); administrators
  everyone's. They alone open the territory's skills table and the exports.
- Funders and beneficiaries: nothing (403). Out of scope: not found (404), never loaded then refused.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.directory import policy as directory_policy
from mediation.training.models import HABILITATION_KIND, TrainingKind, TrainingRecord

TRAINED_ROLES = (Role.MEDIATOR, Role.COORDINATOR)  # the accounts that hold trainings


def is_supervisor(user: User) -> bool:
    """Administrators and coordinators: the staff of their scope, the skills table, the exports."""
    return user.role in (Role.ADMIN, Role.COORDINATOR)


def visible_people(user: User) -> sa.Select:
    """Accounts whose trainings ``user`` sees: themselves (staff), plus the directory's scope for
    coordinators and administrators; only accounts that hold trainings (mediators, coordinators)."""
    query = sa.select(User).where(User.role.in_(TRAINED_ROLES))
    if is_supervisor(user):
        scope = directory_policy.visible_users(user).with_only_columns(User.id).correlate(None)
        return query.where(sa.or_(User.id.in_(scope), User.id == user.id))
    if user.role == Role.MEDIATOR:
        return query.where(User.id == user.id)
    return query.where(sa.false())


def get_person(session: Session, user: User, person_id: int) -> User | None:
    return session.scalar(visible_people(user).where(User.id == person_id))


def visible_records(user: User) -> sa.Select:
    return sa.select(TrainingRecord).where(
        TrainingRecord.user_id.in_(visible_people(user).with_only_columns(User.id)))


def get_record(session: Session, user: User, record_id: int) -> TrainingRecord | None:
    return session.scalar(visible_records(user).where(TrainingRecord.id == record_id))


def can_record(user: User, person: User, kind: TrainingKind | str | None = None) -> bool:
    """Record (or remove) a training of ``person`` (already loaded through the scope). The
    habilitation kind is for the coordination only; any other kind, for the person too."""
    if is_supervisor(user):
        return True
    if user.id != person.id or user.role not in TRAINED_ROLES:
        return False
    return kind is None or kind != HABILITATION_KIND


def recordable_kinds(user: User, person: User) -> list[TrainingKind]:
    return [k for k in TrainingKind if can_record(user, person, k)]


def can_delete(user: User, record: TrainingRecord) -> bool:
    return can_record(user, record.user, record.kind)


def can_view_skills(user: User) -> bool:
    return is_supervisor(user)
