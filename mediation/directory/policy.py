"""Who may see and change the directory."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager

from mediation.auth.models import Role, User
from mediation.directory.models import Commune, Structure, Territory
from mediation.policy import restrict_to_structures


def visible_structures(user: User) -> sa.Select:
    """Structures listed to ``user``: every active structure of the network for staff
    (the directory is shared), none for funders and beneficiaries."""
    query = sa.select(Structure).join(Structure.commune).options(contains_eager(Structure.commune))
    if user.role in (Role.FUNDER, Role.BENEFICIARY):
        return query.where(sa.false())
    return query


def can_edit_structure(user: User, structure: Structure) -> bool:
    if user.role == Role.ADMIN:
        return True
    if user.role == Role.COORDINATOR:
        return structure.commune.territory_id == user.territory_id
    return False


def can_manage_territory(user: User, territory: Territory) -> bool:
    return user.role == Role.ADMIN or (
        user.role == Role.COORDINATOR and user.territory_id == territory.id
    )


def editable_structures(user: User) -> sa.Select:
    return restrict_to_structures(sa.select(Structure), Structure.id, user)


def get_structure_for_edit(session: Session, user: User, structure_id: int) -> Structure | None:
    """Load a structure through the user's edit scope: out of scope looks like not found."""
    return session.scalar(editable_structures(user).where(Structure.id == structure_id))


def communes_for(user: User) -> sa.Select:
    query = sa.select(Commune).order_by(Commune.name)
    if user.role == Role.COORDINATOR:
        query = query.where(Commune.territory_id == user.territory_id)
    return query
