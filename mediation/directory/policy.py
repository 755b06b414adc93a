"""Who may see and change the directory.

- admin: everything;
- coordinator: reads the whole (shared) structure directory, and administers only their territory:
  its communes, its structures, and the staff working in those structures (mediators and the
  coordinators of the same territory); never creates admins, never touches another territory;
- mediator: reads the structure directory, changes nothing;
- funder, beneficiary: no directory page.

Lookups of an object to *change* go through the user's scope, so an id from another territory
looks like "not found" (404); a role that may never change anything gets 403 from ``access``.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from mediation.auth.models import Role, User
from mediation.directory.models import Commune, StaffMembership, Structure, Territory
from mediation.directory.scopes import restrict_to_structures, territory_structures
from mediation.types import local_today

DIRECTORY_READERS = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
DIRECTORY_ADMINS = (Role.ADMIN, Role.COORDINATOR)

# Roles an account can be given from the directory (beneficiaries get no staff account).
ASSIGNABLE_ROLES = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR, Role.FUNDER)
COORDINATOR_ASSIGNABLE_ROLES = (Role.MEDIATOR, Role.COORDINATOR)


# --- structures ------------------------------------------------------------------------------

def visible_structures(user: User, *, include_archived: bool = False) -> sa.Select:
    """Structures listed to ``user``: every structure of the network for staff (the directory is
    shared), none for funders and beneficiaries. Archived ones only when asked."""
    query = sa.select(Structure).join(Structure.commune).options(contains_eager(Structure.commune))
    if user.role not in DIRECTORY_READERS:
        return query.where(sa.false())
    if not include_archived:
        query = query.where(Structure.archived_at.is_(None))
    return query


def can_edit_structure(user: User, structure: Structure) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.COORDINATOR:
        return structure.commune.territory_id == user.territory_id
    return False


def can_use_commune(user: User, commune: Commune) -> bool:
    """May ``user`` place a structure (or edit a commune) in ``commune``?"""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.COORDINATOR and commune.territory_id == user.territory_id


def can_create_structure(user: User) -> bool:
    return user.role in DIRECTORY_ADMINS


def can_import_structures(user: User) -> bool:
    return user.role in DIRECTORY_ADMINS


def can_view_structure_staff(user: User, structure: Structure) -> bool:
    """Names of the staff of a structure: its administrators and its own current staff."""
    if can_edit_structure(user, structure):
        return True
    if user.role == Role.MEDIATOR:
        today = local_today()
        return any(m.user_id == user.id and m.is_active_on(today) for m in structure.memberships)
    return False


def editable_structures(user: User) -> sa.Select:
    return restrict_to_structures(sa.select(Structure), Structure.id, user)


def get_structure_for_edit(session: Session, user: User, structure_id: int) -> Structure | None:
    """Load a structure through the user's edit scope: out of scope looks like not found."""
    if user.role not in DIRECTORY_ADMINS:
        return None
    return session.scalar(editable_structures(user).where(Structure.id == structure_id))


def get_visible_structure(session: Session, user: User, structure_id: int) -> Structure | None:
    return session.scalar(
        visible_structures(user, include_archived=True).where(Structure.id == structure_id)
    )


# --- territories and communes ----------------------------------------------------------------

def visible_territories(user: User) -> sa.Select:
    """Territories an administrator of the directory sees: all for admins, their own for
    coordinators, none otherwise."""
    query = sa.select(Territory)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        return query.where(Territory.id == user.territory_id)
    return query.where(sa.false())


def get_territory(session: Session, user: User, territory_id: int) -> Territory | None:
    return session.scalar(visible_territories(user).where(Territory.id == territory_id))


def can_create_territory(user: User) -> bool:
    return user.role == Role.ADMIN


def can_edit_territory(user: User, territory: Territory) -> bool:
    """Renaming a territory is for admins; coordinators manage what is inside it."""
    return user.role == Role.ADMIN


def can_manage_territory(user: User, territory: Territory) -> bool:
    """Add and edit the communes of ``territory``."""
    return user.role == Role.ADMIN or (
        user.role == Role.COORDINATOR and user.territory_id == territory.id
    )


def can_move_commune(user: User) -> bool:
    """Moving a commune to another territory is for admins."""
    return user.role == Role.ADMIN


def communes_for(user: User) -> sa.Select:
    """Communes offered to ``user`` in pickers: their territory's for a coordinator, all otherwise."""
    query = sa.select(Commune).where(Commune.territory_id.is_not(None)).order_by(Commune.name)
    if user.role == Role.COORDINATOR:
        query = query.where(Commune.territory_id == user.territory_id)
    return query


def editable_communes(user: User) -> sa.Select:
    """Communes ``user`` may edit and place structures in (all for admins, their territory's for
    coordinators, none otherwise)."""
    if user.role not in DIRECTORY_ADMINS:
        return sa.select(Commune).where(sa.false())
    return communes_for(user)


def get_commune_for_edit(session: Session, user: User, commune_id: int) -> Commune | None:
    return session.scalar(editable_communes(user).where(Commune.id == commune_id))


# --- staff -----------------------------------------------------------------------------------

def visible_users(user: User) -> sa.Select:
    """Accounts ``user`` may see and manage: all for admins; for a coordinator, the mediators who
    work or worked in a structure of their territory and the coordinators of that territory."""
    query = sa.select(User)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        members = sa.select(StaffMembership.user_id).where(
            StaffMembership.structure_id.in_(territory_structures(user.territory_id))
        )
        return query.where(
            sa.or_(
                sa.and_(User.role == Role.MEDIATOR, User.id.in_(members)),
                sa.and_(User.role == Role.COORDINATOR, User.territory_id == user.territory_id),
            )
        )
    return query.where(sa.false())


def get_user(session: Session, user: User, user_id: int) -> User | None:
    return session.scalar(visible_users(user).where(User.id == user_id))


def user_in_scope(session: Session, actor: User, target: User) -> bool:
    return get_user(session, actor, target.id) is not None


def assignable_roles(user: User) -> tuple[Role, ...]:
    if user.role == Role.ADMIN:
        return ASSIGNABLE_ROLES
    if user.role == Role.COORDINATOR:
        return COORDINATOR_ASSIGNABLE_ROLES
    return ()


def can_create_user(user: User) -> bool:
    return user.role in DIRECTORY_ADMINS


def can_manage_membership(user: User, membership: StaffMembership) -> bool:
    return can_edit_structure(user, membership.structure)


def get_membership_for_edit(session: Session, user: User, membership_id: int) -> StaffMembership | None:
    """A membership whose structure ``user`` administers (out of scope looks like not found)."""
    if user.role not in DIRECTORY_ADMINS:
        return None
    return session.scalar(
        sa.select(StaffMembership).where(
            StaffMembership.id == membership_id,
            StaffMembership.structure_id.in_(editable_structures(user).with_only_columns(Structure.id)),
        )
    )
