"""Who may see and act on mandates.

- Only an *aidant habilité* acts on mandates (create, renew, use, revoke, attach the signed copy):
  a mediator designated ``is_aidant`` whose Aidants Connect habilitation is in force — derived from
  the training records (:mod:`mediation.training.habilitation`), the one source of truth: an expired
  habilitation stops every mandate action — with an enrolled second factor and an active account, and only for the structures they work for today (not archived). A mandate belongs to
  its structure: any habilitated aidant of that structure may use it; an aidant of another
  structure does not even see it (404).
- Administrators (everything) and coordinators (the structures of their territory) see a list of
  mandates WITHOUT names, and transfer a mandate between two structures of their scope.
- Everyone else (other mediators, funders, beneficiaries) sees nothing here (403).

Lookups go through the scope (:func:`get_mandate`): an id outside it is not found, never loaded
then refused.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.directory.models import StaffMembership, Structure
from mediation.directory.scopes import active_membership_clause, structure_scope
from mediation.mandates.models import Mandate
from mediation.training import habilitation


def habilitation_problem(user: User) -> str | None:
    """Why ``user`` may not act on mandates (French, shown on the 403 page), or None."""
    if user.role != Role.MEDIATOR or not user.is_aidant:
        return "Seuls les aidants habilités peuvent gérer des mandats."
    problem = habilitation.habilitation_problem(user)
    if problem:
        return problem
    if not user.totp_enabled:
        return "Activez la double authentification pour gérer des mandats."
    if not user.is_active_account:
        return "Votre compte est désactivé."
    return None


def is_habilitated(user: User) -> bool:
    return habilitation_problem(user) is None


def aidant_structures_query(user_id: int, day: date | None = None) -> sa.Select:
    """Ids of the structures ``user_id`` works for on ``day`` (not archived)."""
    return (
        sa.select(StaffMembership.structure_id)
        .join(Structure, Structure.id == StaffMembership.structure_id)
        .where(active_membership_clause(user_id, day), Structure.archived_at.is_(None))
    )


def acting_structures(session: Session, user: User) -> list[Structure]:
    """The structures a habilitated aidant may create mandates for (empty for anyone else)."""
    if not is_habilitated(user):
        return []
    return list(session.scalars(
        sa.select(Structure).where(Structure.id.in_(aidant_structures_query(user.id))).order_by(Structure.name)
    ))


def can_act_for(session: Session, user: User, structure_id: int) -> bool:
    """A habilitated aidant working today for ``structure_id``."""
    if not is_habilitated(user):
        return False
    return structure_id in set(session.scalars(aidant_structures_query(user.id)))


def can_see_identity(user: User) -> bool:
    """Names and the attestation: habilitated aidants only (admins and coordinators see pseudonyms)."""
    return is_habilitated(user)


def can_supervise(user: User) -> bool:
    """Administrators and coordinators: list mandates (pseudonymised), transfer them, and set which
    démarches the structures of their scope allow."""
    return user.role in (Role.ADMIN, Role.COORDINATOR)


def can_transfer(user: User) -> bool:
    return can_supervise(user)


def supervised_structures(session: Session, user: User, *, with_aidants: bool = True) -> sa.Select:
    """Structures of the user's scope (not archived), optionally only those where an aidant works today."""
    query = sa.select(Structure).where(Structure.archived_at.is_(None))
    if not can_supervise(user):
        return query.where(sa.false())
    scope = structure_scope(user)
    if scope is not None:
        query = query.where(Structure.id.in_(scope))
    if with_aidants:
        aidants = (sa.select(StaffMembership.structure_id).join(User, User.id == StaffMembership.user_id)
                   .where(User.is_aidant, User.id.in_(habilitation.habilitated_users()),
                          active_membership_clause(User.id)))
        query = query.where(Structure.id.in_(aidants))
    return query.order_by(Structure.name)


def visible_mandates(user: User) -> sa.Select:
    """Mandates held by the structures the user acts for (aidants) or supervises (admin, coordinator)."""
    query = sa.select(Mandate)
    if user.role == Role.MEDIATOR:
        if not is_habilitated(user):
            return query.where(sa.false())
        return query.where(Mandate.structure_id.in_(aidant_structures_query(user.id)))
    if user.role in (Role.ADMIN, Role.COORDINATOR):
        scope = structure_scope(user)
        return query if scope is None else query.where(Mandate.structure_id.in_(scope))
    return query.where(sa.false())


def get_mandate(session: Session, user: User, mandate_id: int, *options) -> Mandate | None:
    return session.scalar(visible_mandates(user).where(Mandate.id == mandate_id).options(*options))


def transfer_targets(session: Session, user: User, mandate: Mandate) -> list[Structure]:
    """Structures of the user's scope, other than the current holder, not archived."""
    if not can_transfer(user):
        return []
    query = sa.select(Structure).where(Structure.id != mandate.structure_id, Structure.archived_at.is_(None))
    scope = structure_scope(user)
    if scope is not None:
        query = query.where(Structure.id.in_(scope))
    return list(session.scalars(query.order_by(Structure.name)))


def in_scope(session: Session, user: User, structure_id: int) -> bool:
    """Whether ``structure_id`` is within the user's structure scope (admin: every structure)."""
    scope = structure_scope(user)
    if scope is None:
        return True
    return structure_id in set(session.scalars(scope))


def beneficiary_label(user: User, mandate: Mandate) -> str:
    if mandate.beneficiary is None:
        return "Personne anonymisée"
    return mandate.beneficiary.display_name if can_see_identity(user) else mandate.beneficiary.pseudonym
