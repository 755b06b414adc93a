"""Rules and mutations for beneficiaries, consents and case files, and the recomputation of the
derived counters (``accompaniments_count``, ``first_accompaniment``) shared with activity logging,
merges and imports.

Services flush, never commit; every change writes an audit event in the same transaction. Audit
details hold ids and field names only, never names, contact details or notes. Errors are
:class:`~mediation.errors.DomainError` subclasses with French messages worded like the national tool.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session, joinedload

from mediation.audit.models import AuditEvent
from mediation.audit.services import record
from mediation.cases import signals
from mediation.cases.enums import CaseState, ClosureReason, ConsentScope, Genre, StatutSocial
from mediation.cases.models import Activity, Beneficiary, Case, CaseNote, Consent, Participation
from mediation.directory.models import Commune
from mediation.errors import Conflict, DomainError, ValidationFailed
from mediation.types import local_today, to_paris, utcnow


class Errors:
    """Collects field errors; :meth:`raise_if_any` raises one ValidationFailed carrying them all."""

    def __init__(self) -> None:
        self.by_field: dict[str, str] = {}

    def add(self, field: str, message: str) -> None:
        self.by_field.setdefault(field, message)

    def __bool__(self) -> bool:
        return bool(self.by_field)

    def raise_if_any(self) -> None:
        if self.by_field:
            first = next(iter(self.by_field.values()))
            raise ValidationFailed(first, errors=dict(self.by_field))


# --- beneficiaries ------------------------------------------------------------------------------

@dataclass
class BeneficiaryInput:
    """What a form or the API gives to create or update an identified beneficiary."""

    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    no_phone: bool = False
    birth_year: int | None = None
    residence_commune_id: int | None = None
    genre: str | None = None
    statut_social: str | None = None
    notes: str | None = None


def clean_text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def normalise_phone(value: str | None) -> str | None:
    value = clean_text(value)
    if value is None:
        return None
    return re.sub(r"[\s.\-]", "", value)


def validate_beneficiary(session: Session, data: BeneficiaryInput, errors: Errors, prefix: str = "",
                         today: date | None = None) -> dict:
    """Check and normalise ``data``; adds errors (field names prefixed by ``prefix``) and returns the
    cleaned values ready to set on a :class:`Beneficiary`."""
    today = today or local_today()
    values = {
        "first_name": clean_text(data.first_name),
        "last_name": clean_text(data.last_name),
        "email": clean_text(data.email),
        "phone": normalise_phone(data.phone),
        "no_phone": bool(data.no_phone),
        "birth_year": data.birth_year,
        "residence_commune_id": data.residence_commune_id or None,
        "genre": clean_text(data.genre),
        "statut_social": clean_text(data.statut_social),
        "notes": clean_text(data.notes),
    }
    if not values["first_name"]:
        errors.add(f"{prefix}first_name", "Veuillez renseigner un prénom")
    if not values["last_name"]:
        errors.add(f"{prefix}last_name", "Veuillez renseigner un nom")
    for name, limit in (("first_name", 100), ("last_name", 100)):
        if values[name] and len(values[name]) > limit:
            errors.add(f"{prefix}{name}", f"{limit} caractères au maximum")
    if values["email"]:
        try:
            values["email"] = validate_email(values["email"], check_deliverability=False).normalized.lower()
        except EmailNotValidError:
            errors.add(f"{prefix}email", "Veuillez renseigner une adresse e-mail valide")
    if values["phone"]:
        if not re.fullmatch(r"\+?\d{6,15}", values["phone"]):
            errors.add(f"{prefix}phone", "Veuillez renseigner un numéro de téléphone valide")
        values["no_phone"] = False
    if values["birth_year"] is not None and not (1900 <= values["birth_year"] <= today.year):
        errors.add(f"{prefix}birth_year", f"Veuillez renseigner une année de naissance entre 1900 et {today.year}")
    if values["genre"] and values["genre"] not in Genre.__members__.values():
        errors.add(f"{prefix}genre", "Genre inconnu")
    if values["statut_social"] and values["statut_social"] not in StatutSocial.__members__.values():
        errors.add(f"{prefix}statut_social", "Statut inconnu")
    if values["residence_commune_id"] and session.get(Commune, values["residence_commune_id"]) is None:
        errors.add(f"{prefix}residence_commune_id", "Commune inconnue")
    return values


def create_beneficiary(session: Session, actor, structure_id: int, data: BeneficiaryInput, *,
                       open_case: bool = True) -> Beneficiary:
    """Create an identified beneficiary held by ``structure_id`` (and open their case).

    Raises ValidationFailed ("Veuillez renseigner un prénom"…) with every field error.
    """
    errors = Errors()
    values = validate_beneficiary(session, data, errors)
    errors.raise_if_any()
    beneficiary = Beneficiary(owner_structure_id=structure_id, created_by_id=actor.id, **values)
    session.add(beneficiary)
    session.flush()
    record(session, "beneficiary.created", actor=actor, obj=beneficiary, structure_id=structure_id,
           details={"fields": sorted(k for k, v in values.items() if v not in (None, False))})
    if open_case:
        open_case_for(session, actor, beneficiary, structure_id=structure_id, mediator_id=actor.id)
    return beneficiary


def update_beneficiary(session: Session, actor, beneficiary: Beneficiary, data: BeneficiaryInput) -> list[str]:
    """Update an identified beneficiary; returns the names of the fields that changed (audited)."""
    if beneficiary.anonymous:
        raise DomainError("Un bénéficiaire anonyme n'a pas de fiche à modifier.")
    if beneficiary.deleted_at is not None:
        raise DomainError("Ce bénéficiaire a été supprimé ou fusionné.")
    errors = Errors()
    values = validate_beneficiary(session, data, errors)
    errors.raise_if_any()
    changed = []
    for name, value in values.items():
        if getattr(beneficiary, name) != value:
            setattr(beneficiary, name, value)
            changed.append(name)
    if changed:
        session.flush()
        record(session, "beneficiary.updated", actor=actor, obj=beneficiary,
               structure_id=beneficiary.owner_structure_id, details={"fields": sorted(changed)})
        signals.beneficiary_updated.send(session, beneficiary=beneficiary)
    return changed


def beneficiary_input_from(beneficiary: Beneficiary) -> BeneficiaryInput:
    return BeneficiaryInput(**{f.name: getattr(beneficiary, f.name) for f in fields(BeneficiaryInput)})


def last_activity_dates(session: Session, case_ids) -> dict[int, date]:
    """``{case_id: date of its last (not deleted) activity}``, for lists of cases."""
    case_ids = list(case_ids)
    if not case_ids:
        return {}
    return dict(session.execute(
        sa.select(Participation.case_id, sa.func.max(Activity.date))
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.case_id.in_(case_ids), Activity.deleted_at.is_(None))
        .group_by(Participation.case_id)
    ).all())


# --- consent ------------------------------------------------------------------------------------

def record_consent(session: Session, actor, beneficiary: Beneficiary, scope: ConsentScope | str,
                   structure_id: int, given_at: datetime | None = None) -> Consent:
    """Record the beneficiary's consent (follow-up in the structure, or sharing in the network).

    Raises Conflict when the same consent is already live, DomainError for anonymous people.
    """
    try:
        scope = ConsentScope(scope)
    except ValueError:
        raise ValidationFailed("Veuillez choisir la portée du consentement", field="scope") from None
    if beneficiary.anonymous:
        raise DomainError("Un bénéficiaire anonyme ne donne pas de consentement nominatif.")
    live = session.scalar(sa.select(Consent.id).where(
        Consent.beneficiary_id == beneficiary.id, Consent.scope == scope,
        Consent.structure_id == structure_id, Consent.withdrawn_at.is_(None)))
    if live:
        raise Conflict("Ce consentement est déjà enregistré.")
    now = utcnow()
    if given_at is not None and given_at > now:
        raise ValidationFailed("La date du consentement ne peut pas être dans le futur", field="given_at")
    consent = Consent(beneficiary_id=beneficiary.id, scope=scope, structure_id=structure_id,
                      given_at=given_at or now, recorded_by_id=actor.id)
    session.add(consent)
    session.flush()
    record(session, "consent.recorded", actor=actor, obj=consent, structure_id=structure_id,
           details={"beneficiary_id": beneficiary.id, "scope": scope.value})
    return consent


def withdraw_consent(session: Session, actor, consent: Consent) -> Consent:
    """Withdraw a live consent (the row stays, dated). Raises DomainError if already withdrawn."""
    if consent.withdrawn_at is not None:
        raise DomainError("Ce consentement a déjà été retiré.")
    consent.withdrawn_at = max(utcnow(), consent.given_at)
    consent.withdrawn_by_id = actor.id
    session.flush()
    record(session, "consent.withdrawn", actor=actor, obj=consent, structure_id=consent.structure_id,
           details={"beneficiary_id": consent.beneficiary_id, "scope": consent.scope.value})
    return consent


# --- cases --------------------------------------------------------------------------------------

def live_case(session: Session, beneficiary_id: int) -> Case | None:
    """The beneficiary's case that is not closed, if any (there is at most one)."""
    return session.scalar(sa.select(Case).where(Case.beneficiary_id == beneficiary_id,
                                                Case.state != CaseState.CLOSED))


def open_case_for(session: Session, actor, beneficiary: Beneficiary, *, structure_id: int,
                  mediator_id: int | None = None) -> Case:
    """Open a case for ``beneficiary`` held by ``structure_id``.

    Raises Conflict if the person already has a case in progress (open or paused).
    """
    if beneficiary.anonymous:
        raise DomainError("Un bénéficiaire anonyme n'a pas de dossier.")
    if live_case(session, beneficiary.id) is not None:
        raise Conflict("Ce bénéficiaire a déjà un dossier en cours.")
    case = Case(beneficiary_id=beneficiary.id, structure_id=structure_id, mediator_id=mediator_id,
                created_by_id=actor.id, state=CaseState.OPEN)
    session.add(case)
    session.flush()
    record(session, "case.opened", actor=actor, obj=case, structure_id=structure_id,
           details={"beneficiary_id": beneficiary.id})
    return case


def _transition(session: Session, actor, case: Case, action: str, move, *args) -> Case:
    previous = move(*args)
    session.flush()
    details = {"from": previous.value, "to": case.state.value}
    if case.closure_reason is not None and case.state == CaseState.CLOSED:
        details["reason"] = case.closure_reason.value
    record(session, action, actor=actor, obj=case, structure_id=case.structure_id, details=details)
    return case


def pause_case(session: Session, actor, case: Case) -> Case:
    """ouvert → en pause. Raises DomainError otherwise."""
    return _transition(session, actor, case, "case.paused", case.pause)


def resume_case(session: Session, actor, case: Case) -> Case:
    """en pause → ouvert. Raises DomainError otherwise."""
    return _transition(session, actor, case, "case.resumed", case.resume)


def close_case(session: Session, actor, case: Case, reason: ClosureReason | str | None) -> Case:
    """ouvert or en pause → clos, with a reason ("Veuillez indiquer le motif de clôture")."""
    return _transition(session, actor, case, "case.closed", case.close, reason)


def reopen_case(session: Session, actor, case: Case) -> Case:
    """clos → ouvert. Raises Conflict if another case of the person is in progress."""
    if case.state == CaseState.CLOSED and live_case(session, case.beneficiary_id) is not None:
        raise Conflict("Ce bénéficiaire a déjà un autre dossier en cours.")
    return _transition(session, actor, case, "case.reopened", case.reopen)


def add_case_note(session: Session, actor, case: Case, body: str | None) -> CaseNote:
    """Add a note to the case timeline ("Veuillez saisir une note")."""
    body = clean_text(body)
    if not body:
        raise ValidationFailed("Veuillez saisir une note", field="body")
    if len(body) > 5000:
        raise ValidationFailed("5 000 caractères au maximum", field="body")
    note = CaseNote(case_id=case.id, author_id=actor.id, body=body)
    session.add(note)
    session.flush()
    record(session, "case.note_added", actor=actor, obj=note, structure_id=case.structure_id,
           details={"case_id": case.id})
    return note


# --- derived counters ---------------------------------------------------------------------------

def _expire(session: Session, cls, ids: set[int] | None, attribute_names: list[str]) -> None:
    for obj in list(session.identity_map.values()):
        if isinstance(obj, cls) and (ids is None or obj.id in ids):
            session.expire(obj, attribute_names)


def recompute_first_accompaniments(session: Session, beneficiary_ids: Iterable[int] | None = None) -> None:
    """Mark, for each identified beneficiary, the earliest participation by activity date (then id)
    among non-deleted activities as the first accompaniment, and unmark the others.

    Anonymous people keep what was declared for them ("J'ai déjà accompagné ce bénéficiaire").
    ``None`` recomputes everyone (used after bulk loads). Portable SQL (window function).
    """
    ids = None if beneficiary_ids is None else {i for i in beneficiary_ids if i is not None}
    if ids is not None and not ids:
        return
    session.flush()
    ranked = (
        sa.select(
            Participation.id.label("pid"),
            sa.func.row_number().over(
                partition_by=Participation.beneficiary_id, order_by=(Activity.date, Activity.id)
            ).label("rank"),
        )
        .join(Activity, Activity.id == Participation.activity_id)
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .where(Activity.deleted_at.is_(None), sa.not_(Beneficiary.counted_per_participation))
    )
    if ids is not None:
        ranked = ranked.where(Participation.beneficiary_id.in_(ids))
    ranked = ranked.subquery()
    firsts = sa.select(ranked.c.pid).where(ranked.c.rank == 1)
    # Two set-based updates (semi-joins), fast on large tables: unmark, then mark the earliest.
    unmark = (
        sa.update(Participation)
        .where(Participation.first_accompaniment.is_(True),
               Participation.beneficiary_id.in_(sa.select(Beneficiary.id).where(sa.not_(Beneficiary.counted_per_participation))))
        .values(first_accompaniment=False)
        .execution_options(synchronize_session=False)
    )
    if ids is not None:
        unmark = unmark.where(Participation.beneficiary_id.in_(ids))
    session.execute(unmark)
    session.execute(
        sa.update(Participation).where(Participation.id.in_(firsts)).values(first_accompaniment=True)
        .execution_options(synchronize_session=False)
    )
    _expire(session, Participation, None, ["first_accompaniment"])


def recompute_counts(session: Session, beneficiary_ids: Iterable[int] | None = None) -> None:
    """Set ``accompaniments_count`` of the given beneficiaries (all when None) to their number of
    participations in non-deleted activities (an aggregate joined once: fast on large tables)."""
    ids = None if beneficiary_ids is None else {i for i in beneficiary_ids if i is not None}
    if ids is not None and not ids:
        return
    session.flush()
    counts = (
        sa.select(Participation.beneficiary_id.label("bid"), sa.func.count(Participation.id).label("n"))
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Activity.deleted_at.is_(None))
        .group_by(Participation.beneficiary_id)
    )
    # updated_at is kept: a derived counter is not an edit of the person's record.
    reset = sa.update(Beneficiary).values(accompaniments_count=0, updated_at=Beneficiary.updated_at).where(Beneficiary.accompaniments_count != 0)
    if ids is not None:
        counts = counts.where(Participation.beneficiary_id.in_(ids))
        reset = reset.where(Beneficiary.id.in_(ids))
    counts = counts.subquery()
    session.execute(reset.execution_options(synchronize_session=False))
    session.execute(
        sa.update(Beneficiary).where(Beneficiary.id == counts.c.bid).values(accompaniments_count=counts.c.n, updated_at=Beneficiary.updated_at)
        .execution_options(synchronize_session=False)
    )
    _expire(session, Beneficiary, ids, ["accompaniments_count"])


def count_new_participations(session: Session, activity: Activity, participations: Iterable[Participation]
                             ) -> list[tuple[int, date, int]]:
    """Targeted upkeep of the derived counters after ``participations`` were added to the live,
    just-created ``activity`` (same result as both recomputations, without re-ranking anyone).

    Anonymous people have exactly one participation, so their count is 1 and their first
    accompaniment stays as declared. For identified people: one increment of the count, and one
    lookup of their current first participation; the new one replaces it when it is earlier (by
    date, then id: the new activity has the highest id, so only a strictly later date loses).
    Returns the (structure_id, date, mediator_id) of the activities whose first accompaniments
    were unmarked, so that the caller refreshes their statistics too.
    """
    session.flush()
    identified = {p.beneficiary_id: p for p in participations if not p.beneficiary.anonymous}
    anonymous = [p.beneficiary for p in participations if p.beneficiary.anonymous]
    for beneficiary in anonymous:
        if beneficiary.accompaniments_count != 1:  # a new anonymous person already holds 1: nothing to flush
            beneficiary.accompaniments_count = 1
    if not identified:
        session.flush()
        return []
    ids = sorted(identified)
    session.execute(
        sa.update(Beneficiary).where(Beneficiary.id.in_(ids))
        .values(accompaniments_count=Beneficiary.accompaniments_count + 1, updated_at=Beneficiary.updated_at)
        .execution_options(synchronize_session=False))
    _expire(session, Beneficiary, set(ids), ["accompaniments_count"])
    current = session.execute(
        sa.select(Participation.id, Participation.beneficiary_id, Activity.structure_id, Activity.date,
                  Activity.mediator_id)
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.beneficiary_id.in_(ids), Participation.first_accompaniment.is_(True),
               Activity.deleted_at.is_(None), Activity.id != activity.id)
    ).all()
    firsts = {row.beneficiary_id: row for row in current}
    unmark, moved = [], []
    for beneficiary_id, participation in identified.items():
        old = firsts.get(beneficiary_id)
        if old is None or old.date > activity.date:
            participation.first_accompaniment = True
            if old is not None:
                unmark.append(old.id)
                moved.append((old.structure_id, old.date, old.mediator_id))
        else:
            participation.first_accompaniment = False
    if unmark:
        session.execute(sa.update(Participation).where(Participation.id.in_(unmark))
                        .values(first_accompaniment=False).execution_options(synchronize_session=False))
        _expire(session, Participation, set(unmark), ["first_accompaniment"])
    session.flush()
    return moved


def recompute_for(session: Session, beneficiary_ids: Iterable[int] | None) -> None:
    """Both recomputations, for the merge and import code paths."""
    ids = None if beneficiary_ids is None else set(beneficiary_ids)
    recompute_first_accompaniments(session, ids)
    recompute_counts(session, ids)


# --- case timeline ------------------------------------------------------------------------------

@dataclass
class TimelineEntry:
    """One line of a case's timeline; ``kind`` is activity, note, consent or state."""

    day: date
    at: datetime | None
    kind: str
    activity: Activity | None = None
    participation: Participation | None = None
    note: CaseNote | None = None
    consent: Consent | None = None
    consent_event: str | None = None
    action: str | None = None
    details: dict | None = None
    actor_id: int | None = None


def case_timeline(session: Session, case: Case, *, with_notes: bool) -> list[TimelineEntry]:
    """Everything that happened on ``case``, newest first: its activities (non-deleted), notes
    (only when ``with_notes``), consents of the person and state changes. A fixed number of queries."""
    entries: list[TimelineEntry] = []
    participations = session.scalars(
        sa.select(Participation).join(Activity, Activity.id == Participation.activity_id)
        .where(Participation.case_id == case.id, Activity.deleted_at.is_(None))
        .options(joinedload(Participation.activity).joinedload(Activity.mediator),
                 joinedload(Participation.activity).joinedload(Activity.structure),
                 joinedload(Participation.activity).selectinload(Activity.thematique_rows))
    ).all()
    for p in participations:
        entries.append(TimelineEntry(day=p.activity.date, at=None, kind="activity", activity=p.activity,
                                     participation=p))
    if with_notes:
        for note in session.scalars(sa.select(CaseNote).where(CaseNote.case_id == case.id)
                                    .options(joinedload(CaseNote.author))):
            entries.append(TimelineEntry(day=to_paris(note.created_at).date(), at=note.created_at, kind="note",
                                         note=note))
    for consent in session.scalars(sa.select(Consent).where(Consent.beneficiary_id == case.beneficiary_id)
                                   .options(joinedload(Consent.structure))):
        entries.append(TimelineEntry(day=to_paris(consent.given_at).date(), at=consent.given_at, kind="consent",
                                     consent=consent, consent_event="recorded"))
        if consent.withdrawn_at:
            entries.append(TimelineEntry(day=to_paris(consent.withdrawn_at).date(), at=consent.withdrawn_at,
                                         kind="consent", consent=consent, consent_event="withdrawn"))
    events = sa.select(AuditEvent).where(AuditEvent.object_type == Case.__tablename__,
                                         AuditEvent.object_id == str(case.id))
    for event in session.scalars(events):
        entries.append(TimelineEntry(day=to_paris(event.at).date(), at=event.at, kind="state", action=event.action,
                                     details=event.details, actor_id=event.actor_id))
    entries.sort(key=lambda e: (e.day, e.at.isoformat() if e.at else ""), reverse=True)
    return entries
