"""Shared authorization primitives: who is signed in, which role, which structures are in scope.

Each domain states its own rules in its ``policy.py`` on top of these. Every view declares who may
reach it with :func:`access` (web) — the app refuses to start if a route declares nothing.
"""

from __future__ import annotations

from datetime import date
from functools import wraps

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from mediation.auth.models import Role, User
from mediation.directory.models import Commune, StaffMembership, Structure
from mediation.extensions import login_manager
from mediation.types import local_today

PUBLIC = "public"
AUTHENTICATED = "authenticated"


def access(*roles: Role | str):
    """Declare who may call a view: ``PUBLIC``, ``AUTHENTICATED`` or a list of roles.

    Anonymous users are sent to the sign-in page; signed-in users without the role get 403.
    """
    if not roles:
        raise ValueError("access() needs at least one role, PUBLIC or AUTHENTICATED")

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if PUBLIC not in roles:
                if not current_user.is_authenticated:
                    return login_manager.unauthorized()
                if AUTHENTICATED not in roles and current_user.role not in roles:
                    abort(403)
            return view(*args, **kwargs)

        wrapper.access_roles = tuple(roles)
        return wrapper

    return decorator


def active_membership_clause(user_id, day: date | None = None):
    day = day or local_today()
    return sa.and_(
        StaffMembership.user_id == user_id,
        StaffMembership.started_on <= day,
        sa.or_(StaffMembership.ended_on.is_(None), StaffMembership.ended_on >= day),
    )


def structure_scope(user: User) -> sa.Select | None:
    """Ids of the structures whose records ``user`` may see, as a subquery; None means all.

    admin: all · coordinator: the structures of the communes of their territory ·
    mediator: the structures they work for today · funder, beneficiary: none.
    """
    if user.role == Role.ADMIN:
        return None
    if user.role == Role.COORDINATOR:
        return (
            sa.select(Structure.id)
            .join(Commune, Structure.commune_id == Commune.id)
            .where(Commune.territory_id == user.territory_id)
        )
    if user.role == Role.MEDIATOR:
        return sa.select(StaffMembership.structure_id).where(active_membership_clause(user.id))
    return sa.select(Structure.id).where(sa.false())


def restrict_to_structures(query: sa.Select, column, user: User) -> sa.Select:
    """Add ``column IN (structures in scope)`` to ``query`` (no-op for admins)."""
    scope = structure_scope(user)
    return query if scope is None else query.where(column.in_(scope))


