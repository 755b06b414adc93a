"""Lending mediators between communes (mises à disposition, permanences).

A coordinator lends a mediator working in their territory to a commune or a structure of their
territory for a period; administrators anywhere. During the loan the borrowing places are offered
in the mediator's activity form (:func:`loan_places_for`) and shown in the directory. The
mediator's activities stay attributed to their own structure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.directory.models import Commune, Loan, StaffMembership, Structure
from mediation.directory.notifications import NotificationKind, notify
from mediation.directory.scopes import active_membership_clause, territory_communes, territory_structures
from mediation.errors import DomainError, ValidationFailed
from mediation.forms import PickSource
from mediation.text import de
from mediation.types import local_today, utcnow

MAX_DAYS = 366


@dataclass
class LoanInput:
    mediator_id: int | None = None
    place: str | None = None  # "structure:12" or "commune:34"
    starts_on: date | None = None
    ends_on: date | None = None
    note: str | None = None


def lendable_mediators_query(actor) -> sa.Select:
    """Active mediators working today in the actor's territory (all for admins), by name."""
    working = (sa.select(StaffMembership.user_id)
               .where(StaffMembership.started_on <= local_today(),
                      sa.or_(StaffMembership.ended_on.is_(None), StaffMembership.ended_on >= local_today())))
    if actor.role == Role.COORDINATOR:
        working = working.where(StaffMembership.structure_id.in_(territory_structures(actor.territory_id)))
    elif actor.role != Role.ADMIN:
        working = working.where(sa.false())
    return (sa.select(User).where(User.role == Role.MEDIATOR, User.is_active_account.is_(True),
                                  User.id.in_(working)).order_by(User.last_name, User.first_name, User.id))


def lendable_mediators(session: Session, actor) -> list[User]:
    return list(session.scalars(lendable_mediators_query(actor)))


def mediator_source(actor) -> PickSource:
    """The mediators ``actor`` may lend, as a pick-list (a search in a network of thousands)."""
    return PickSource(lendable_mediators_query(actor), User.id, User.last_name, searched=(User.first_name,),
                      format=lambda r: f"{r[2]} {r[1]}")


def place_sources(actor) -> tuple[PickSource, PickSource]:
    """The communes then the structures of the actor's territory (all for admins), as pick-lists."""
    communes = sa.select(Commune).where(Commune.territory_id.is_not(None)).order_by(Commune.name, Commune.id)
    structures = (sa.select(Structure).join(Commune, Commune.id == Structure.commune_id)
                  .where(Structure.archived_at.is_(None)).order_by(Structure.name, Structure.id))
    if actor.role == Role.COORDINATOR:
        communes = communes.where(Commune.id.in_(territory_communes(actor.territory_id)))
        structures = structures.where(Structure.id.in_(territory_structures(actor.territory_id)))
    return (PickSource(communes, Commune.id, Commune.name, prefix="commune:", format=lambda r: f"Commune {de(r[1])}"),
            PickSource(structures, Structure.id, Structure.name, searched=(Commune.name,), prefix="structure:",
                       format=lambda r: f"{r[1]} ({r[2]})"))


def place_choices(session: Session, actor) -> list[tuple[str, str]]:
    """Every place of :func:`place_sources`, as (value, label)."""
    return [(c.value, c.label) for source in place_sources(actor) for c in source.all(session)]


def create_loan(session: Session, actor, data: LoanInput) -> Loan:
    """Lend a mediator to a commune or structure from ``starts_on`` to ``ends_on`` (≤ 1 year).

    Raises ValidationFailed (mediator not in the actor's territory, place, dates, overlap).
    """
    errors: dict[str, str] = {}
    mediator = session.get(User, data.mediator_id) if data.mediator_id else None
    if mediator is None or session.scalar(lendable_mediators_query(actor).where(User.id == mediator.id)) is None:
        errors["mediator_id"] = "Veuillez choisir un médiateur de votre territoire"
    kind, _, raw_id = (data.place or "").partition(":")
    place_id = int(raw_id) if raw_id.isdigit() else None
    allowed = {value for value, _ in place_choices(session, actor)}
    if data.place not in allowed or place_id is None:
        errors["place"] = "Veuillez choisir la commune ou la structure d'accueil"
    if data.starts_on is None:
        errors["starts_on"] = "Veuillez indiquer la date de début"
    if data.ends_on is None:
        errors["ends_on"] = "Veuillez indiquer la date de fin"
    if data.starts_on and data.ends_on:
        if data.ends_on < data.starts_on:
            errors["ends_on"] = "La date de fin doit suivre la date de début"
        elif (data.ends_on - data.starts_on).days >= MAX_DAYS:
            errors["ends_on"] = "Une mise à disposition dure un an au plus : renouvelez-la ensuite"
        elif data.ends_on < local_today():
            errors["ends_on"] = "La période est déjà passée"
    note = (data.note or "").strip() or None
    if note and len(note) > 300:
        errors["note"] = "300 caractères au maximum"
    if not errors and kind == "structure" and mediator is not None:
        own = session.scalar(sa.select(StaffMembership.id).where(
            active_membership_clause(mediator.id, data.starts_on), StaffMembership.structure_id == place_id))
        if own:
            errors["place"] = "Ce médiateur travaille déjà pour cette structure"
    if not errors:
        same_place = Loan.structure_id == place_id if kind == "structure" else Loan.commune_id == place_id
        overlap = session.scalar(sa.select(Loan.id).where(
            Loan.mediator_id == mediator.id, Loan.cancelled_at.is_(None), same_place,
            Loan.starts_on <= data.ends_on, Loan.ends_on >= data.starts_on).limit(1))
        if overlap:
            errors["starts_on"] = "Ce médiateur est déjà mis à disposition de ce lieu sur une partie de cette période"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    loan = Loan(mediator_id=mediator.id, structure_id=place_id if kind == "structure" else None,
                commune_id=place_id if kind == "commune" else None, starts_on=data.starts_on, ends_on=data.ends_on,
                note=note, created_by_id=actor.id)
    session.add(loan)
    session.flush()
    if loan.structure_id:
        notify(session, loan.structure_id, NotificationKind.MISE_A_DISPOSITION)
    record(session, "loan.created", actor=actor, obj=loan, structure_id=loan.structure_id,
           details={"mediator_id": mediator.id, "structure_id": loan.structure_id, "commune_id": loan.commune_id,
                    "starts_on": loan.starts_on.isoformat(), "ends_on": loan.ends_on.isoformat()})
    return loan


def end_loan(session: Session, actor, loan: Loan, today: date | None = None) -> Loan:
    """End a loan early (from today) or cancel it if it has not started."""
    today = today or local_today()
    if loan.cancelled_at is not None or loan.ends_on < today:
        raise DomainError("Cette mise à disposition est déjà terminée.")
    if loan.starts_on >= today:
        loan.cancelled_at = utcnow()
        loan.cancelled_by_id = actor.id
        action = "loan.cancelled"
    else:
        loan.ends_on = today
        action = "loan.ended"
    session.flush()
    record(session, action, actor=actor, obj=loan, structure_id=loan.structure_id,
           details={"mediator_id": loan.mediator_id, "ends_on": loan.ends_on.isoformat()})
    return loan


def active_loans(session: Session, *, day: date | None = None, mediator_id: int | None = None,
                 structure: Structure | None = None) -> list[Loan]:
    """Loans running on ``day``, of a mediator or towards a structure (directly or its commune)."""
    day = day or local_today()
    query = (sa.select(Loan).where(Loan.cancelled_at.is_(None), Loan.starts_on <= day, Loan.ends_on >= day)
             .options(joinedload(Loan.mediator), joinedload(Loan.structure), joinedload(Loan.commune))
             .order_by(Loan.starts_on, Loan.id))
    if mediator_id is not None:
        query = query.where(Loan.mediator_id == mediator_id)
    if structure is not None:
        query = query.where(sa.or_(Loan.structure_id == structure.id, Loan.commune_id == structure.commune_id))
    return list(session.scalars(query))


@dataclass
class LoanPlaces:
    """Places a lent mediator may log activities at on a day: structures (« Lieu d'activité »)
    and communes (« Autre lieu », « À domicile »)."""

    structures: list[Structure] = field(default_factory=list)
    communes: list[Commune] = field(default_factory=list)


def loan_places_for(session: Session, user, day: date | None = None) -> LoanPlaces:
    """For the activity form: the structures and communes ``user`` is lent to on ``day`` — a
    structure lent to directly, or every open structure of a commune lent to (and the commune)."""
    places = LoanPlaces()
    if getattr(user, "role", None) != Role.MEDIATOR:
        return places
    loans = active_loans(session, day=day, mediator_id=user.id)
    commune_ids = [loan.commune_id for loan in loans if loan.commune_id]
    structure_ids = {loan.structure_id for loan in loans if loan.structure_id}
    if commune_ids:
        places.communes = list(session.scalars(sa.select(Commune).where(Commune.id.in_(commune_ids))
                                               .order_by(Commune.name)))
        structure_ids |= set(session.scalars(sa.select(Structure.id).where(
            Structure.commune_id.in_(commune_ids), Structure.archived_at.is_(None))))
    if structure_ids:
        places.structures = list(session.scalars(sa.select(Structure).where(Structure.id.in_(structure_ids))
                                                 .order_by(Structure.name)))
    return places
