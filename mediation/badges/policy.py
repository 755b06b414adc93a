"""Who may see and do what with badges, wallets and verification.

- A person's badges and wallet card are reached through their case, with the pathways scope
  (:func:`mediation.pathways.policy.shared_cases`): the structure holding the case and, with a live
  network consent, the structures of the territory. Mediators issue, revoke, reissue, print and
  revoke cards there; coordinators and administrators read (without names).
- Issuer profiles, badge classes and endorsements: coordinators for their territory (the network
  profile and the structures of their communes), administrators everywhere.
- The verification page is for staff (administrators, coordinators, mediators); importing a
  verified badge into a case is for mediators who can act on that case.
- Open Badges documents and the wallet are public (the wallet by card or one-time code only).
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.badges.models import BadgeClass, IssuerKind, IssuerProfile
from mediation.cases.models import Case
from mediation.directory.models import Structure
from mediation.directory.scopes import territory_structures
from mediation.pathways import policy as pathways_policy

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
MANAGERS = (Role.ADMIN, Role.COORDINATOR)


def get_case(session: Session, user: User, case_id: int, *options) -> Case | None:
    """A case whose badges ``user`` may see (same scope as the person's pathway)."""
    return pathways_policy.get_case(session, user, case_id, *options)


def can_issue(user: User) -> bool:
    """Issue, revoke, reissue badges and manage wallet cards: mediators (on a case in scope)."""
    return user.role == Role.MEDIATOR


# --- issuers, classes, endorsements -------------------------------------------------------------

def visible_issuers(user: User) -> sa.Select:
    query = sa.select(IssuerProfile)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        return query.where(sa.or_(
            sa.and_(IssuerProfile.kind == IssuerKind.RESEAU, IssuerProfile.territory_id == user.territory_id),
            IssuerProfile.structure_id.in_(territory_structures(user.territory_id))))
    return query.where(sa.false())


def get_issuer(session: Session, user: User, issuer_id: int) -> IssuerProfile | None:
    return session.scalar(visible_issuers(user).where(IssuerProfile.id == issuer_id))


def can_manage_issuers(user: User) -> bool:
    """Issuer profiles and badge classes' endorsements are managed by coordinators and administrators."""
    return user.role in MANAGERS


def visible_badge_classes(user: User) -> sa.Select:
    """Staff read the classes of their territories' networks and of the national network."""
    query = sa.select(BadgeClass).join(IssuerProfile, IssuerProfile.id == BadgeClass.issuer_id)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        return query.where(sa.or_(IssuerProfile.territory_id.is_(None),
                                  IssuerProfile.territory_id == user.territory_id))
    if user.role == Role.MEDIATOR:
        territories = pathways_policy.territory_of_structures(pathways_policy.my_structure_ids(user))
        return query.where(sa.or_(IssuerProfile.territory_id.is_(None), IssuerProfile.territory_id.in_(territories)))
    return query.where(sa.false())


def get_badge_class(session: Session, user: User, class_id: int) -> BadgeClass | None:
    return session.scalar(visible_badge_classes(user).where(BadgeClass.id == class_id))


def can_manage_badge_class(user: User, badge_class: BadgeClass) -> bool:
    """Edit texts and record endorsements: coordinators of the issuing network's territory
    (national classes: administrators)."""
    if user.role == Role.ADMIN:
        return True
    return (user.role == Role.COORDINATOR and badge_class.issuer.territory_id is not None
            and badge_class.issuer.territory_id == user.territory_id)


def endorsing_structures_query(user: User) -> sa.Select:
    """Structures on whose behalf ``user`` may record an endorsement, by name."""
    query = sa.select(Structure).where(Structure.archived_at.is_(None)).order_by(Structure.name, Structure.id)
    if user.role == Role.COORDINATOR:
        return query.where(Structure.id.in_(territory_structures(user.territory_id)))
    return query if user.role == Role.ADMIN else query.where(sa.false())

