"""Who may see and change pathways, progress, referrals, reassignments and loans.

- A person's pathway (enrolment, diagnosis, validations) is visible to the mediators of the
  structure holding the case and — only when the person gave a live *network* consent — to the
  mediators of any structure of the territory of that consent. A *structure* consent shares
  nothing: other structures do not even find the case (404). Mediators of those structures
  enrol, assess, validate milestones and refer.
- Coordinators see the cases held in their territory (without names, as in cases/policy.py),
  reassign them (alone or in bulk), manage their territory's pathway templates and lend mediators.
  Administrators do all of it everywhere. Mediators never reassign (403).
- Referrals: visible to the staff of the sending and receiving structures (and coordinators of
  their territory); the receiving structure answers and records the outcome; the sender cancels.

Lookups go through the scope (``get_*``): an id outside it is simply not found.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.cases.enums import ConsentScope
from mediation.cases.models import Case, Consent
from mediation.directory.models import Commune, Loan, Structure
from mediation.directory.scopes import active_membership_clause, structure_scope, territory_communes
from mediation.pathways.models import Enrolment, PathwayTemplate, Referral

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
MANAGERS = (Role.ADMIN, Role.COORDINATOR)


def my_structure_ids(user: User, day: date | None = None) -> sa.Select:
    """Structures a mediator works for today (a subquery)."""
    from mediation.directory.models import StaffMembership

    return sa.select(StaffMembership.structure_id).where(active_membership_clause(user.id, day))


def territory_of_structures(structure_ids: sa.Select) -> sa.Select:
    return (sa.select(Commune.territory_id).join(Structure, Structure.commune_id == Commune.id)
            .where(Structure.id.in_(structure_ids)))


def network_consent_clause(territory_ids: sa.Select):
    """Beneficiaries with a live network consent given in one of ``territory_ids``."""
    return (
        sa.select(Consent.beneficiary_id)
        .join(Structure, Structure.id == Consent.structure_id)
        .join(Commune, Commune.id == Structure.commune_id)
        .where(Consent.scope == ConsentScope.RESEAU, Consent.withdrawn_at.is_(None),
               Commune.territory_id.in_(territory_ids))
    )


def shared_cases(user: User) -> sa.Select:
    """Cases whose pathway ``user`` may see.

    mediator: held by one of their structures, or shared with their territory by a live network
    consent · coordinator: held in their territory · admin: all · others: none.
    """
    query = sa.select(Case)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        return query.where(Case.structure_id.in_(structure_scope(user)))
    if user.role == Role.MEDIATOR:
        mine = my_structure_ids(user)
        shared = network_consent_clause(territory_of_structures(mine))
        return query.where(sa.or_(Case.structure_id.in_(mine), Case.beneficiary_id.in_(shared)))
    return query.where(sa.false())


def get_case(session: Session, user: User, case_id: int, *options) -> Case | None:
    return session.scalar(shared_cases(user).where(Case.id == case_id).options(*options))


def can_act_on_pathway(user: User) -> bool:
    """Enrol, take a diagnosis, validate a milestone, refer: mediators (on a case in their scope)."""
    return user.role == Role.MEDIATOR


def can_reassign(user: User, case: Case) -> bool:
    """Coordinators of the territory holding the case, and administrators; never mediators."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.COORDINATOR and case.structure.commune.territory_id == user.territory_id


def acting_structures(session: Session, user: User) -> list[Structure]:
    """The structures a mediator acts for today, by name."""
    if user.role != Role.MEDIATOR:
        return []
    return list(session.scalars(sa.select(Structure).where(Structure.id.in_(my_structure_ids(user)))
                                .order_by(Structure.name)))


# --- templates ----------------------------------------------------------------------------------

def visible_templates(user: User) -> sa.Select:
    """Staff read the templates of their territories and the national ones; admins all."""
    query = sa.select(PathwayTemplate)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        return query.where(sa.or_(PathwayTemplate.territory_id.is_(None),
                                  PathwayTemplate.territory_id == user.territory_id))
    if user.role == Role.MEDIATOR:
        territories = territory_of_structures(my_structure_ids(user))
        return query.where(sa.or_(PathwayTemplate.territory_id.is_(None),
                                  PathwayTemplate.territory_id.in_(territories)))
    return query.where(sa.false())


def get_template(session: Session, user: User, template_id: int) -> PathwayTemplate | None:
    return session.scalar(visible_templates(user).where(PathwayTemplate.id == template_id))


def can_manage_template(user: User, template: PathwayTemplate) -> bool:
    """Coordinators edit their territory's templates; national ones (no territory) are admins'."""
    if user.role == Role.ADMIN:
        return True
    return user.role == Role.COORDINATOR and template.territory_id is not None \
        and template.territory_id == user.territory_id


def can_create_template(user: User) -> bool:
    return user.role in MANAGERS


def templates_for_case(session: Session, case: Case) -> list[PathwayTemplate]:
    """Templates a case may enrol in: those of the holding structure's territory and national ones."""
    territory_id = case.structure.commune.territory_id
    return list(session.scalars(
        sa.select(PathwayTemplate).where(
            PathwayTemplate.archived_at.is_(None),
            sa.or_(PathwayTemplate.territory_id.is_(None), PathwayTemplate.territory_id == territory_id))
        .order_by(PathwayTemplate.name)))


# --- enrolments ---------------------------------------------------------------------------------

def visible_enrolments(user: User) -> sa.Select:
    return sa.select(Enrolment).where(Enrolment.case_id.in_(shared_cases(user).with_only_columns(Case.id)))


def get_enrolment(session: Session, user: User, enrolment_id: int, *options) -> Enrolment | None:
    return session.scalar(visible_enrolments(user).where(Enrolment.id == enrolment_id).options(*options))


# --- referrals ----------------------------------------------------------------------------------

def referral_structures(user: User) -> sa.Select | None:
    """Structures whose referrals (in and out) ``user`` sees; None means all."""
    if user.role == Role.MEDIATOR:
        return my_structure_ids(user)
    if user.role in MANAGERS:
        return structure_scope(user)
    return sa.select(Structure.id).where(sa.false())


def visible_referrals(user: User) -> sa.Select:
    query = sa.select(Referral)
    scope = referral_structures(user)
    if scope is None:
        return query
    return query.where(sa.or_(Referral.from_structure_id.in_(scope), Referral.to_structure_id.in_(scope)))


def get_referral(session: Session, user: User, referral_id: int, *options) -> Referral | None:
    return session.scalar(visible_referrals(user).where(Referral.id == referral_id).options(*options))


def works_for(session: Session, user: User, structure_id: int, day: date | None = None) -> bool:
    """Is ``user`` a mediator of ``structure_id`` (today)?"""
    from mediation.directory.models import StaffMembership

    if user.role != Role.MEDIATOR:
        return False
    return session.scalar(sa.select(StaffMembership.id).where(
        active_membership_clause(user.id, day), StaffMembership.structure_id == structure_id).limit(1)) is not None


def can_answer_referral(session: Session, user: User, referral: Referral) -> bool:
    """Accept, decline, record the outcome: mediators of the receiving structure."""
    return works_for(session, user, referral.to_structure_id)


def can_cancel_referral(session: Session, user: User, referral: Referral) -> bool:
    """Cancel: mediators of the sending structure."""
    return works_for(session, user, referral.from_structure_id)


# --- loans --------------------------------------------------------------------------------------

def visible_loans(user: User) -> sa.Select:
    """Managers see loans of their territory (the lent mediator's structures or the place);
    mediators their own loans and those to their structures; others none."""
    query = sa.select(Loan)
    if user.role == Role.ADMIN:
        return query
    if user.role == Role.COORDINATOR:
        from mediation.directory.models import StaffMembership

        scope = structure_scope(user)
        members = sa.select(StaffMembership.user_id).where(StaffMembership.structure_id.in_(scope))
        return query.where(sa.or_(Loan.mediator_id.in_(members), Loan.structure_id.in_(scope),
                                  Loan.commune_id.in_(territory_communes(user.territory_id))))
    if user.role == Role.MEDIATOR:
        return query.where(sa.or_(Loan.mediator_id == user.id, Loan.structure_id.in_(my_structure_ids(user))))
    return query.where(sa.false())


def can_manage_loans(user: User) -> bool:
    return user.role in MANAGERS


def get_loan_for_edit(session: Session, user: User, loan_id: int) -> Loan | None:
    if not can_manage_loans(user):
        return None
    return session.scalar(visible_loans(user).where(Loan.id == loan_id))
