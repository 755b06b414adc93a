"""Rules and mutations of the evaluation domain: funders and their accounts, programmes and what
they cover, explicit attribution of activities, and the follow-up survey (scheduling, answers by
phone or from the person's wallet). Every change writes an audit event (ids only) in the same
transaction; the request commits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.auth.models import Role, User
from mediation.cases.enums import CaseState
from mediation.cases.models import Activity, Case
from mediation.config import setting
from mediation.directory.models import Structure, Territory
from mediation.directory.scopes import structure_scope
from mediation.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mediation.evaluation import policy
from mediation.evaluation.models import (
    FollowUp,
    FollowUpChannel,
    FollowUpStatus,
    FollowUpTrigger,
    Funder,
    FunderKind,
    Programme,
    programme_activities,
)
from mediation.types import local_today, to_paris, utcnow

DEFAULT_FOLLOW_UP_DELAY_DAYS = 90


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# --- funders ------------------------------------------------------------------------------------

def create_funder(session: Session, actor: User, name: str | None, kind: str | None) -> Funder:
    """A new funder (administrators). Raises ValidationFailed (fields), Conflict (same name)."""
    if not policy.can_manage_funders(actor):
        raise Forbidden("Seuls les administrateurs créent des financeurs.")
    errors = {}
    name = _clean(name)
    if not name:
        errors["name"] = "Indiquez le nom du financeur."
    elif len(name) > 200:
        errors["name"] = "Le nom ne doit pas dépasser 200 caractères."
    try:
        kind = FunderKind(kind)
    except ValueError:
        errors["kind"] = "Choisissez le type de financeur dans la liste."
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    if session.scalar(sa.select(Funder.id).where(sa.func.lower(Funder.name) == name.lower())):
        raise Conflict("Un financeur porte déjà ce nom.", field="name")
    funder = Funder(name=name, kind=kind)
    session.add(funder)
    session.flush()
    record(session, "funder.created", actor=actor, obj=funder, details={"kind": kind.value})
    return funder


def link_funder_account(session: Session, actor: User, funder: Funder, user: User | None) -> User:
    """Attach a funder account (role « financeur ») to ``funder``: it then sees that funder's
    programmes. Raises ValidationFailed when the account is not a funder account."""
    if not policy.can_manage_funders(actor):
        raise Forbidden("Seuls les administrateurs rattachent des comptes aux financeurs.")
    if user is None or user.role != Role.FUNDER:
        raise ValidationFailed("Choisissez un compte de financeur.", field="user_id")
    previous = user.funder_id
    user.funder_id = funder.id
    session.flush()
    record(session, "funder.account_linked", actor=actor, obj=user,
           details={"funder_id": funder.id, "previous_funder_id": previous})
    return user


# --- programmes ---------------------------------------------------------------------------------

@dataclass
class ProgrammeInput:
    funder_id: int | None = None
    name: str | None = None
    description: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    territory_id: int | None = None
    structure_ids: list[int] = field(default_factory=list)
    mediator_ids: list[int] = field(default_factory=list)


def _validate_programme(session: Session, actor: User, data: ProgrammeInput, programme: Programme | None) -> dict:
    errors: dict[str, str] = {}
    name = _clean(data.name)
    if not name:
        errors["name"] = "Indiquez le nom du programme."
    elif len(name) > 200:
        errors["name"] = "Le nom ne doit pas dépasser 200 caractères."
    funder = session.get(Funder, data.funder_id) if data.funder_id else None
    if funder is None:
        errors["funder_id"] = "Choisissez le financeur."
    if not data.starts_on:
        errors["starts_on"] = "Indiquez la date de début."
    if not data.ends_on:
        errors["ends_on"] = "Indiquez la date de fin."
    elif data.starts_on and data.ends_on < data.starts_on:
        errors["ends_on"] = "La date de fin doit être postérieure ou égale à la date de début."
    territory = None
    if actor.role == Role.COORDINATOR:
        if data.territory_id not in (None, actor.territory_id):
            errors["territory_id"] = "Vous ne créez des programmes que pour votre territoire."
        territory = session.get(Territory, actor.territory_id)
    elif data.territory_id:
        territory = session.get(Territory, data.territory_id)
        if territory is None:
            errors["territory_id"] = "Ce territoire n'existe pas."
    structure_ids = sorted(set(data.structure_ids or []))
    mediator_ids = sorted(set(data.mediator_ids or []))
    structures = list(session.scalars(sa.select(Structure).where(Structure.id.in_(structure_ids)))) if structure_ids else []
    if len(structures) != len(structure_ids):
        errors["structure_ids"] = "Une des structures choisies n'existe pas."
    allowed = structure_scope(actor)
    if allowed is not None and structure_ids and session.scalar(
            sa.select(sa.func.count()).select_from(Structure)
            .where(Structure.id.in_(structure_ids), Structure.id.not_in(allowed))):
        errors["structure_ids"] = "Vous ne couvrez que des structures de votre territoire."
    mediators = list(session.scalars(sa.select(User).where(User.id.in_(mediator_ids)))) if mediator_ids else []
    if len(mediators) != len(mediator_ids) or any(m.role != Role.MEDIATOR for m in mediators):
        errors["mediator_ids"] = "Choisissez des médiateurs dans la liste."
    if funder is not None and name and session.scalar(
            sa.select(Programme.id).where(Programme.funder_id == funder.id, Programme.name == name,
                                          Programme.id != (programme.id if programme else -1))):
        errors["name"] = "Ce financeur a déjà un programme de ce nom."
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    return {"funder": funder, "name": name, "description": _clean(data.description), "starts_on": data.starts_on,
            "ends_on": data.ends_on, "territory": territory, "structures": structures, "mediators": mediators}


def save_programme(session: Session, actor: User, data: ProgrammeInput, programme: Programme | None = None) -> Programme:
    """Create or update a programme with its coverage (structures and/or mediators). Coordinators
    work on their territory's programmes only. Raises ValidationFailed with every field error."""
    if actor.role not in policy.PROGRAMME_MANAGERS:
        raise Forbidden("Seuls l'administration et la coordination gèrent les programmes.")
    values = _validate_programme(session, actor, data, programme)
    created = programme is None
    if created:
        programme = Programme(created_by_id=actor.id)
        session.add(programme)
    programme.funder_id = values["funder"].id
    programme.name = values["name"]
    programme.description = values["description"]
    programme.starts_on, programme.ends_on = values["starts_on"], values["ends_on"]
    programme.territory_id = values["territory"].id if values["territory"] else None
    programme.structures = values["structures"]
    programme.mediators = values["mediators"]
    session.flush()
    record(session, "programme.created" if created else "programme.updated", actor=actor, obj=programme,
           details={"funder_id": programme.funder_id, "structures": [s.id for s in values["structures"]],
                    "mediators": [m.id for m in values["mediators"]]})
    return programme


def attribute_activity(session: Session, actor: User, programme: Programme, activity_id: int | None) -> Activity:
    """Attribute one activity explicitly to a programme (in addition to its coverage). The activity
    must be in the actor's scope and inside the programme's period."""
    from mediation.cases import policy as cases_policy

    activity = cases_policy.get_activity(session, actor, activity_id) if activity_id else None
    if activity is None or activity.deleted_at is not None:
        raise ValidationFailed("Aucune activité de votre périmètre ne porte ce numéro.", field="activity_id")
    if not programme.starts_on <= activity.date <= programme.ends_on:
        raise ValidationFailed("Cette activité est en dehors de la période du programme.", field="activity_id")
    exists = session.scalar(sa.select(programme_activities.c.activity_id).where(
        programme_activities.c.programme_id == programme.id, programme_activities.c.activity_id == activity.id))
    if exists:
        raise Conflict("Cette activité est déjà attribuée au programme.", field="activity_id")
    session.execute(programme_activities.insert().values(programme_id=programme.id, activity_id=activity.id,
                                                         attributed_by_id=actor.id, attributed_at=utcnow()))
    record(session, "programme.activity_attributed", actor=actor, obj=programme, structure_id=activity.structure_id,
           details={"activity_id": activity.id})
    return activity


def remove_attribution(session: Session, actor: User, programme: Programme, activity_id: int) -> None:
    deleted = session.execute(programme_activities.delete().where(
        programme_activities.c.programme_id == programme.id, programme_activities.c.activity_id == activity_id))
    if not deleted.rowcount:
        raise NotFound("Cette activité n'est pas attribuée au programme.")
    record(session, "programme.activity_unattributed", actor=actor, obj=programme,
           details={"activity_id": activity_id})


def attributed_activities(session: Session, programme: Programme, limit: int = 200) -> list[Activity]:
    return list(session.scalars(
        sa.select(Activity).join(programme_activities, programme_activities.c.activity_id == Activity.id)
        .where(programme_activities.c.programme_id == programme.id).order_by(Activity.date.desc()).limit(limit)))


# --- follow-up survey ---------------------------------------------------------------------------

def follow_up_delay_days() -> int:
    """``MEDIATION_FOLLOW_UP_DELAY_DAYS`` (90 days by default)."""
    return int(setting("MEDIATION_FOLLOW_UP_DELAY_DAYS"))


def schedule_follow_ups(session: Session, *, today: date | None = None, delay_days: int | None = None) -> int:
    """Create the missing follow-ups: one per case, due ``delay_days`` after the case's pathway was
    completed or the case was closed (whichever came first). Set-based; idempotent. Returns how many
    were created (audited as one event)."""
    from mediation.pathways.enums import EnrolmentState
    from mediation.pathways.models import Enrolment

    delay = timedelta(days=delay_days if delay_days is not None else follow_up_delay_days())
    today = today or local_today()
    existing = sa.select(FollowUp.case_id)
    completions = dict(session.execute(
        sa.select(Enrolment.case_id, sa.func.min(Enrolment.completed_at))
        .where(Enrolment.state == EnrolmentState.TERMINE, Enrolment.completed_at.is_not(None),
               Enrolment.case_id.not_in(existing))
        .group_by(Enrolment.case_id)).all())
    closures = {case_id: (beneficiary_id, structure_id, closed_at) for case_id, beneficiary_id, structure_id, closed_at
                in session.execute(sa.select(Case.id, Case.beneficiary_id, Case.structure_id, Case.closed_at)
                                   .where(Case.state == CaseState.CLOSED, Case.id.not_in(existing)))}
    cases = {case_id: (beneficiary_id, structure_id) for case_id, beneficiary_id, structure_id in session.execute(
        sa.select(Case.id, Case.beneficiary_id, Case.structure_id).where(Case.id.in_(list(completions) or [-1])))}
    rows = []
    for case_id in sorted(set(completions) | set(closures)):
        events = []
        if case_id in completions:
            events.append((completions[case_id], FollowUpTrigger.PARCOURS_TERMINE))
        if case_id in closures:
            events.append((closures[case_id][2], FollowUpTrigger.CLOTURE))
        triggered_at, trigger = min(events, key=lambda e: e[0])
        beneficiary_id, structure_id = cases.get(case_id) or closures[case_id][:2]
        due = to_paris(triggered_at).date() + delay
        rows.append({"case_id": case_id, "beneficiary_id": beneficiary_id, "structure_id": structure_id,
                     "trigger": trigger, "triggered_at": triggered_at, "due_on": due,
                     "status": FollowUpStatus.A_FAIRE, "created_at": utcnow()})
    if rows:
        session.execute(sa.insert(FollowUp), rows)
        record(session, "follow_up.scheduled", details={"count": len(rows), "delay_days": delay.days,
                                                        "on": today.isoformat()})
    return len(rows)


@dataclass
class FollowUpAnswers:
    """The questionnaire. ``status``: repondu, injoignable or refus. Booleans: True (oui), False
    (non) or None (no answer / not asked)."""

    status: str | None = FollowUpStatus.REPONDU.value
    online_alone: bool | None = None
    job_or_training: bool | None = None
    less_isolated: bool | None = None
    comfort_now: int | None = None


def _apply_answers(follow_up: FollowUp, answers: FollowUpAnswers, channel: FollowUpChannel | None) -> None:
    try:
        status = FollowUpStatus(answers.status)
    except ValueError:
        raise ValidationFailed("Choisissez le résultat de la relance.", field="status") from None
    if status == FollowUpStatus.A_FAIRE:
        raise ValidationFailed("Choisissez le résultat de la relance.", field="status")
    if not follow_up.is_open:
        raise Conflict("Cette relance a déjà été enregistrée.")
    if status == FollowUpStatus.REPONDU:
        if answers.comfort_now is not None and not 1 <= answers.comfort_now <= 5:
            raise ValidationFailed("L'aisance se note de 1 à 5.", field="comfort_now")
        if all(v is None for v in (answers.online_alone, answers.job_or_training, answers.less_isolated,
                                   answers.comfort_now)):
            raise ValidationFailed("Indiquez au moins une réponse, ou choisissez « Personne injoignable ».",
                                   field="online_alone")
        follow_up.online_alone = answers.online_alone
        follow_up.job_or_training = answers.job_or_training
        follow_up.less_isolated = answers.less_isolated
        follow_up.comfort_now = answers.comfort_now
        follow_up.channel = channel
    follow_up.status = status
    follow_up.closed_at = utcnow()


def record_follow_up(session: Session, actor: User, follow_up: FollowUp, answers: FollowUpAnswers) -> FollowUp:
    """The mediator called the person and records the answers (or that nobody answered)."""
    if not policy.can_record_follow_up(actor):
        raise Forbidden("Seuls les médiateurs enregistrent les réponses aux relances.")
    _apply_answers(follow_up, answers, FollowUpChannel.TELEPHONE)
    follow_up.closed_by_id = actor.id
    session.flush()
    record(session, "follow_up.recorded", actor=actor, obj=follow_up, structure_id=follow_up.structure_id,
           details={"status": follow_up.status.value, "channel": "telephone"})
    return follow_up


# The wallet (badges domain) calls these two functions for the person signed in to their wallet.

def pending_follow_ups_for(session: Session, beneficiary_id: int, *, today: date | None = None) -> list[FollowUp]:
    """The person's follow-ups that are due and not answered yet (what the wallet offers to fill)."""
    today = today or local_today()
    return list(session.scalars(sa.select(FollowUp).where(
        FollowUp.beneficiary_id == beneficiary_id, FollowUp.status == FollowUpStatus.A_FAIRE,
        FollowUp.due_on <= today).order_by(FollowUp.due_on)))


def answer_from_wallet(session: Session, beneficiary_id: int, follow_up_id: int, answers: FollowUpAnswers, *,
                       today: date | None = None) -> FollowUp:
    """The person answers their own follow-up from their wallet. Only a due, open follow-up of that
    person can be answered (anything else is « not found »). Raises ValidationFailed, NotFound."""
    follow_up = next((f for f in pending_follow_ups_for(session, beneficiary_id, today=today)
                      if f.id == follow_up_id), None)
    if follow_up is None:
        raise NotFound("Ce questionnaire n'existe pas ou a déjà reçu une réponse.")
    answers.status = FollowUpStatus.REPONDU.value
    _apply_answers(follow_up, answers, FollowUpChannel.PORTEFEUILLE)
    session.flush()
    record(session, "follow_up.recorded", obj=follow_up, structure_id=follow_up.structure_id,
           details={"status": follow_up.status.value, "channel": "portefeuille"})
    return follow_up


def get_follow_up(session: Session, user: User, follow_up_id: int) -> FollowUp | None:
    return session.scalar(policy.visible_follow_ups(user).where(FollowUp.id == follow_up_id))


def due_follow_ups(user: User, *, today: date | None = None, include_closed: bool = False) -> sa.Select:
    today = today or local_today()
    query = policy.visible_follow_ups(user)
    if not include_closed:
        query = query.where(FollowUp.status == FollowUpStatus.A_FAIRE, FollowUp.due_on <= today)
    return query.order_by(FollowUp.due_on, FollowUp.id)
