"""Which structures a user's records come from: the scopes every domain's policy starts from.

admin: everything · coordinator: the structures of the communes of their territory · mediator: the
structures they work for today (their live staff memberships) · others: none.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from mediation.auth.models import Role, User
from mediation.directory.models import Commune, StaffMembership, Structure
from mediation.types import local_today


def active_membership_clause(user_id, day: date | None = None):
    day = local_today() if day is None else day
    return sa.and_(
        StaffMembership.user_id == user_id,
        StaffMembership.started_on <= day,
        sa.or_(StaffMembership.ended_on.is_(None), StaffMembership.ended_on >= day),
    )


def territory_structures(territory_id) -> sa.Select:
    """Ids of the structures of a territory (structure → commune → territory), as a subquery: the
    one way to write that join."""
    return sa.select(Structure.id).join(Commune, Structure.commune_id == Commune.id).where(
        Commune.territory_id == territory_id)


def territory_communes(territory_id) -> sa.Select:
    """Ids of the communes of a territory, as a subquery."""
    return sa.select(Commune.id).where(Commune.territory_id == territory_id)


def structure_scope(user: User) -> sa.Select | None:
    """Ids of the structures whose records ``user`` may see, as a subquery; None means all.

    admin: all · coordinator: the structures of the communes of their territory ·
    mediator: the structures they work for today · funder, beneficiary: none.
    """
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.COORDINATOR:
        return territory_structures(user.territory_id)
    if user.role == Role.MEDIATOR:
        return sa.select(StaffMembership.structure_id).where(active_membership_clause(user.id))
    return sa.select(Structure.id).where(sa.false())


def restrict_to_structures(query: sa.Select, column, user: User) -> sa.Select:
    """Add ``column IN (structures in scope)`` to ``query`` (no-op for admins)."""
    scope = structure_scope(user)
    return query if scope is None else query.where(column.in_(scope))


def territory_scope(user: User) -> sa.Select | None:
    """Ids of the territories ``user`` may administer; None means all."""
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.COORDINATOR:
        return sa.select(sa.literal(user.territory_id))
    return sa.select(sa.literal(-1)).where(sa.false())
