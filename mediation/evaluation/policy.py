"""Who may see which figures, programmes and reports.

- Administrators: everything.
- Coordinators: their territory (every commune, structure and mediator of it, compared), the
  programmes of their territory and the national ones (territory not set); they manage those
  programmes and their coverage.
- Mediators: the structures they work for today, their own figures; they record follow-up answers
  for the cases of those structures.
- Funders: the aggregates of their funder's programmes, nothing else — no mediator filter or
  comparison, no activity export, no follow-up, no single record; small cells are suppressed
  everywhere (:mod:`mediation.evaluation.method`).

Lookups go through these scopes: an id outside them is not found (404).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from mediation.auth.models import Role, User
from mediation.directory.models import Commune, Structure
from mediation.directory.scopes import structure_scope
from mediation.evaluation.models import FollowUp, Funder, Programme, ReportFile

DASHBOARD_ROLES = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR, Role.FUNDER)
STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
PROGRAMME_MANAGERS = (Role.ADMIN, Role.COORDINATOR)


def can_compare(user: User) -> bool:
    """Comparison across communes, structures and mediators: coordinators and administrators."""
    return user.role in (Role.ADMIN, Role.COORDINATOR)


def can_filter_by_mediator(user: User) -> bool:
    """Staff may narrow the figures to one mediator (mediators: themselves only); funders never."""
    return user.role in (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)


def can_export_activities(user: User) -> bool:
    """The anonymised activity export (one row per accompagnement): staff only, never funders."""
    return user.role in STAFF


def can_manage_funders(user: User) -> bool:
    return user.role == Role.ADMIN


def visible_programmes(user: User) -> sa.Select:
    """Programmes the user may pick in the filters."""
    query = sa.select(Programme)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.FUNDER:
        return query.where(Programme.funder_id == user.funder_id) if user.funder_id else query.where(sa.false())
    if user.role == Role.COORDINATOR:
        return query.where(sa.or_(Programme.territory_id == user.territory_id, Programme.territory_id.is_(None)))
    if user.role == Role.MEDIATOR:
        from mediation.evaluation.models import programme_mediators, programme_structures

        mine = structure_scope(user)
        return query.where(sa.or_(
            Programme.id.in_(sa.select(programme_structures.c.programme_id)
                             .where(programme_structures.c.structure_id.in_(mine))),
            Programme.id.in_(sa.select(programme_mediators.c.programme_id)
                             .where(programme_mediators.c.user_id == user.id)),
        ))
    return query.where(sa.false())


def get_programme(session: Session, user: User, programme_id: int) -> Programme | None:
    return session.scalar(visible_programmes(user).where(Programme.id == programme_id))


def editable_programmes(user: User) -> sa.Select:
    """Admins edit every programme; coordinators those of their territory."""
    query = sa.select(Programme)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        return query.where(Programme.territory_id == user.territory_id)
    return query.where(sa.false())


def get_programme_for_edit(session: Session, user: User, programme_id: int) -> Programme | None:
    return session.scalar(editable_programmes(user).where(Programme.id == programme_id))


def visible_funders(user: User) -> sa.Select:
    """Funders the user may pick (programme managers: all) or read (a funder: their own)."""
    query = sa.select(Funder)
    if user.role in PROGRAMME_MANAGERS:
        return query
    if user.role == Role.FUNDER and user.funder_id:
        return query.where(Funder.id == user.funder_id)
    return query.where(sa.false())


def dashboard_structures(user: User) -> sa.Select | None:
    """Structures whose figures the user may see, None meaning every structure. Funders are
    restricted by their programme, not here."""
    if user.role in (Role.ADMIN, Role.FUNDER):
        return None
    return structure_scope(user)


def pickable_structures(user: User) -> sa.Select:
    query = (sa.select(Structure).options(load_only(Structure.id, Structure.name))  # pick-lists: no JSON columns
             .where(Structure.archived_at.is_(None)).order_by(Structure.name))
    scope = dashboard_structures(user)
    if user.role == Role.FUNDER:
        return query.where(sa.false())
    return query if scope is None else query.where(Structure.id.in_(scope))


def pickable_communes(user: User) -> sa.Select:
    query = sa.select(Commune).where(Commune.territory_id.is_not(None)).order_by(Commune.name)
    if user.role == Role.COORDINATOR:
        return query.where(Commune.territory_id == user.territory_id)
    if user.role == Role.MEDIATOR:
        return query.where(Commune.id.in_(sa.select(Structure.commune_id).where(
            Structure.id.in_(structure_scope(user)))))
    if user.role == Role.FUNDER:
        return query.where(sa.false())
    return query


def visible_follow_ups(user: User) -> sa.Select:
    """Follow-ups of cases held by the mediator's structures (coordinators and admins read them)."""
    query = sa.select(FollowUp)
    if user.role not in STAFF:
        return query.where(sa.false())
    scope = structure_scope(user)
    return query if scope is None else query.where(FollowUp.structure_id.in_(scope))


def can_record_follow_up(user: User) -> bool:
    return user.role == Role.MEDIATOR


def visible_reports(user: User) -> sa.Select:
    """Report files: their author's (administrators see every one)."""
    query = sa.select(ReportFile)
    return query if user.role == Role.ADMIN else query.where(ReportFile.created_by_id == user.id)
