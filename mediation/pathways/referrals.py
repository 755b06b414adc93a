"""Referrals (orientations) between structures, and the suggestions of where to refer.

- Suggestions: structures of the person's network offering the needed service (national schema
  ``services``), nearest first to the person's commune (haversine on coordinates), with their
  opening hours and how to get an appointment; a structure handling the person's accessibility
  needs (« prise en charge spécifique ») is pointed out.
- Lifecycle (:class:`~mediation.pathways.models.Referral`): the sender proposes; the receiving
  structure accepts — the case then moves to it (a referral accepted is a reassignment) — or
  declines with a reason; the sender may cancel while it is live. The outcome is followed:
  *honorée* automatically when an activity of the person is logged at the receiving structure
  (:func:`honour_for_activity`, called by activity logging), or by hand; *non honorée* by hand or
  after ``MEDIATION_REFERRAL_DELAY_DAYS`` days (default 30; :func:`expire_overdue`, run by the CLI
  ``flask --app mediation pathways orientations-echues`` or the ``pathways.expire_referrals`` job).
- Referring to another structure needs the person's live network consent in that territory.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.audit.services import record
from mediation.auth.models import Role
from mediation.cases.enums import ConsentScope
from mediation.cases.models import Activity, Beneficiary, Case, Participation
from mediation.config import setting
from mediation.directory.models import Commune, Structure
from mediation.directory.national_schema import SERVICES
from mediation.directory.notifications import NotificationKind, notify
from mediation.errors import Conflict, DomainError, Forbidden, ValidationFailed
from mediation.jobs import register
from mediation.pathways import policy
from mediation.pathways.enums import (
    LIVE_REFERRAL_STATUSES,
    DeclineReason,
    EnrolmentState,
    MilestoneKind,
    ReferralStatus,
    TransferReason,
)
from mediation.pathways.models import Enrolment, Milestone, Referral
from mediation.pathways.reassignment import has_network_consent, move_case, territory_id_of
from mediation.pathways.services import _acting_structure, _check_case
from mediation.types import local_today, to_paris

DEFAULT_DELAY_DAYS = 30
EARTH_RADIUS_KM = 6371.0


def delay_days() -> int:
    """Days after which a live referral the person did not honour is marked « non honorée »."""
    return max(1, int(setting("MEDIATION_REFERRAL_DELAY_DAYS")))


# --- suggestions --------------------------------------------------------------------------------

def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(a))


def _point(obj) -> tuple[float, float] | None:
    if obj is not None and obj.latitude is not None and obj.longitude is not None:
        return obj.latitude, obj.longitude
    return None


def origin_of(case: Case) -> tuple[tuple[float, float] | None, str]:
    """Where distances are measured from: the person's commune, else the structure holding the case."""
    commune = case.beneficiary.residence_commune
    if _point(commune):
        return _point(commune), f"la commune de résidence de la personne ({commune.name})"
    structure = case.structure
    point = _point(structure) or _point(structure.commune)
    return point, f"la structure qui suit le dossier ({structure.name})"


DAYS = {"Mo": "lundi", "Tu": "mardi", "We": "mercredi", "Th": "jeudi", "Fr": "vendredi", "Sa": "samedi",
        "Su": "dimanche", "PH": "jours fériés"}


def _time(value: str) -> str:
    hours, _, minutes = value.partition(":")
    hours = str(int(hours)) if hours.isdigit() else hours
    return f"{hours} h" if minutes in ("", "00") else f"{hours} h {minutes}"


def horaires_fr(osm: str | None) -> str | None:
    """OSM opening hours (``Mo-Fr 09:00-12:30,13:30-17:30``) in French; the raw value when it is
    not in that simple form."""
    if not osm:
        return None
    rules = []
    for rule in [r.strip() for r in osm.split(";") if r.strip()]:
        match = re.fullmatch(r"((?:[A-Z][a-z](?:-[A-Z][a-z])?,?)+)\s+(.+)", rule)
        if not match:
            return osm
        days_part, times_part = match.groups()
        days = []
        for chunk in days_part.strip(",").split(","):
            start, _, end = chunk.partition("-")
            if start not in DAYS or (end and end not in DAYS):
                return osm
            days.append(f"du {DAYS[start]} au {DAYS[end]}" if end else DAYS[start])
        if times_part.strip() == "off":
            rules.append(f"{', '.join(days)} : fermé")
            continue
        spans = []
        for span in times_part.split(","):
            start, _, end = span.strip().partition("-")
            if not re.fullmatch(r"\d{1,2}:\d{2}", start) or not re.fullmatch(r"\d{1,2}:\d{2}", end):
                return osm
            spans.append(f"{_time(start)} – {_time(end)}")
        rules.append(f"{', '.join(days)} : {' et '.join(spans)}")
    text = " ; ".join(rules)
    return text[0].upper() + text[1:] if text else osm


@dataclass
class Suggestion:
    structure: Structure
    distance_km: float | None
    offers_service: bool
    handles: list[str] = field(default_factory=list)

    @property
    def horaires(self) -> str | None:
        return horaires_fr(self.structure.horaires)

    @property
    def distance_label(self) -> str:
        if self.distance_km is None:
            return "distance inconnue"
        if self.distance_km < 1:
            return f"{round(self.distance_km * 1000, -1):.0f} m"
        return f"{self.distance_km:.1f} km".replace(".", ",")


def network_territory_ids(session: Session, case: Case) -> set[int]:
    """Territories the person shares their case with (live network consents), else the holder's."""
    from mediation.cases.models import Consent

    ids = set(session.scalars(
        sa.select(Commune.territory_id).join(Structure, Structure.commune_id == Commune.id)
        .join(Consent, Consent.structure_id == Structure.id)
        .where(Consent.beneficiary_id == case.beneficiary_id, Consent.scope == ConsentScope.RESEAU,
               Consent.withdrawn_at.is_(None))))
    return ids or {case.structure.commune.territory_id}


def suggest(session: Session, case: Case, service: str | None, *, exclude: set[int] = frozenset(),
            accessibility: list[str] | None = None, limit: int = 8) -> list[Suggestion]:
    """Structures of the person's network offering ``service``, nearest first (then by name).

    Without coordinates a structure is measured from its commune; without any, it comes last.
    """
    origin, _ = origin_of(case)
    structures = session.scalars(
        sa.select(Structure).join(Commune, Commune.id == Structure.commune_id)
        .where(Structure.archived_at.is_(None), Commune.territory_id.in_(network_territory_ids(session, case)),
               Structure.id.not_in(set(exclude) | {case.structure_id}))
        .options(joinedload(Structure.commune)))
    needs = set(accessibility or [])
    result = []
    for s in structures:
        offers = not service or service in (s.services or [])
        if not offers:
            continue
        point = _point(s) or _point(s.commune)
        distance = haversine_km(*origin, *point) if origin and point else None
        result.append(Suggestion(s, distance, offers, sorted(needs & set(s.prise_en_charge or []))))
    result.sort(key=lambda x: (x.distance_km is None, x.distance_km or 0, x.structure.name))
    return result[:limit]


# --- lifecycle ----------------------------------------------------------------------------------

@dataclass
class ReferralInput:
    to_structure_id: int | None = None
    from_structure_id: int | None = None
    service: str | None = None
    milestone_id: int | None = None
    motive: str | None = None
    network_consent: bool = False  # the person accepts the sharing in the network, asked right now


def _live_milestones(session: Session, case: Case) -> dict[int, Milestone]:
    return {m.id: m for m in session.scalars(
        sa.select(Milestone).join(Enrolment, Enrolment.version_id == Milestone.version_id)
        .where(Enrolment.case_id == case.id, Enrolment.state == EnrolmentState.EN_COURS,
               Milestone.kind == MilestoneKind.STEP))}


def create_referral(session: Session, actor, case: Case, data: ReferralInput) -> Referral:
    """Refer the person to another structure of their network.

    Raises NotFound (case not shared with the actor), ValidationFailed (structure, service, step,
    motive), DomainError (no network consent for that territory), Conflict (already referred there).
    """
    _check_case(session, actor, case)
    errors: dict[str, str] = {}
    from_id = None
    try:
        from_id = _acting_structure(session, actor, data.from_structure_id)
    except ValidationFailed as error:
        errors["from_structure_id"] = error.message
    to = session.get(Structure, data.to_structure_id) if data.to_structure_id else None
    if to is None or to.archived_at is not None:
        errors["to_structure_id"] = "Veuillez choisir la structure vers laquelle orienter la personne"
    elif to.id == from_id or to.id == case.structure_id:
        errors["to_structure_id"] = "Choisissez une autre structure que celle qui suit déjà la personne"
    service = (data.service or "").strip() or None
    if service and service not in SERVICES:
        errors["service"] = "Service inconnu du schéma national"
    milestone_id = data.milestone_id or None
    if milestone_id is not None and milestone_id not in _live_milestones(session, case):
        errors["milestone_id"] = "Cette étape ne fait pas partie d'un parcours en cours de la personne"
    motive = (data.motive or "").strip() or None
    if motive and len(motive) > 1000:
        errors["motive"] = "1 000 caractères au maximum"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    territory_id = territory_id_of(session, to.id)
    if not has_network_consent(session, case.beneficiary_id, territory_id) and data.network_consent:
        # Recorded in place, as on the case page (same service, audited « consent.recorded »).
        from mediation.cases.services import record_consent
        record_consent(session, actor, case.beneficiary, ConsentScope.RESEAU, case.structure_id)
    if not has_network_consent(session, case.beneficiary_id, territory_id):
        raise DomainError("La personne n'a pas consenti au partage de son dossier dans le réseau de ce territoire : "
                          "demandez-le-lui et cochez « La personne accepte le partage au sein du réseau » "
                          "avant de l'orienter vers une autre structure.",
                          field="network_consent" if not data.network_consent else "to_structure_id")
    live = session.scalar(sa.select(Referral.id).where(Referral.case_id == case.id, Referral.to_structure_id == to.id,
                                                       Referral.status.in_(LIVE_REFERRAL_STATUSES)))
    if live:
        raise Conflict("Une orientation vers cette structure est déjà en cours pour cette personne.")
    origin, _ = origin_of(case)
    point = _point(to) or _point(to.commune)
    referral = Referral(case_id=case.id, from_structure_id=from_id, to_structure_id=to.id, milestone_id=milestone_id,
                        service=service, motive=motive, created_by_id=actor.id,
                        distance_km=round(haversine_km(*origin, *point), 2) if origin and point else None,
                        due_on=local_today() + timedelta(days=delay_days()))
    session.add(referral)
    session.flush()
    notify(session, to.id, NotificationKind.ORIENTATION_RECUE, other_structure_id=from_id, case_id=case.id,
           referral_id=referral.id)
    record(session, "case.referred", actor=actor, obj=case, structure_id=from_id,
           details={"referral_id": referral.id, "from_structure_id": from_id, "to_structure_id": to.id,
                    "milestone_id": milestone_id})
    return referral


def _audit(session: Session, action: str, actor, referral: Referral, **details) -> None:
    record(session, action, actor=actor, obj=referral, structure_id=referral.to_structure_id,
           details={"case_id": referral.case_id, "status": referral.status.value, **details})


def accept(session: Session, actor, referral: Referral) -> Referral:
    """The receiving structure accepts: the case moves to it, with the accepting mediator as
    referent (version-checked like any move). Raises Forbidden for anyone but its mediators."""
    if not policy.can_answer_referral(session, actor, referral):
        raise Forbidden("Seuls les médiateurs de la structure d'accueil répondent à cette orientation.")
    referral.accept(actor.id)
    case = referral.case
    holder = case.structure_id
    if case.structure_id != referral.to_structure_id:
        move_case(session, actor, case, to_structure=referral.to_structure, to_mediator_id=actor.id,
                  reason=TransferReason.ORIENTATION, referral=referral, notify_structures=False)
        if holder != referral.from_structure_id:
            notify(session, holder, NotificationKind.DOSSIER_PARTI, other_structure_id=referral.to_structure_id,
                   case_id=case.id)
    session.flush()
    notify(session, referral.from_structure_id, NotificationKind.ORIENTATION_ACCEPTEE,
           other_structure_id=referral.to_structure_id, case_id=case.id, referral_id=referral.id)
    _audit(session, "referral.accepted", actor, referral)
    return referral


def decline(session: Session, actor, referral: Referral, reason: str | None, comment: str | None) -> Referral:
    """The receiving structure declines, with a reason (a comment is needed for « Autre motif »)."""
    if not policy.can_answer_referral(session, actor, referral):
        raise Forbidden("Seuls les médiateurs de la structure d'accueil répondent à cette orientation.")
    try:
        reason = DeclineReason(reason) if reason else None
    except ValueError:
        reason = None
    comment = (comment or "").strip() or None
    if reason is None:
        raise ValidationFailed("Veuillez indiquer le motif du refus", field="decline_reason")
    if reason == DeclineReason.AUTRE and not comment:
        raise ValidationFailed("Précisez le motif du refus", field="decline_comment")
    if comment and len(comment) > 500:
        raise ValidationFailed("500 caractères au maximum", field="decline_comment")
    referral.decline(actor.id, reason, comment)
    session.flush()
    notify(session, referral.from_structure_id, NotificationKind.ORIENTATION_REFUSEE,
           other_structure_id=referral.to_structure_id, case_id=referral.case_id, referral_id=referral.id)
    _audit(session, "referral.declined", actor, referral, decline_reason=reason.value)
    return referral


def cancel(session: Session, actor, referral: Referral) -> Referral:
    """The sending structure cancels a live referral."""
    if not policy.can_cancel_referral(session, actor, referral):
        raise Forbidden("Seuls les médiateurs de la structure qui a orienté la personne peuvent annuler.")
    referral.cancel(actor.id)
    session.flush()
    notify(session, referral.to_structure_id, NotificationKind.ORIENTATION_ANNULEE,
           other_structure_id=referral.from_structure_id, case_id=referral.case_id, referral_id=referral.id)
    _audit(session, "referral.cancelled", actor, referral)
    return referral


def record_outcome(session: Session, actor, referral: Referral, honoured: bool) -> Referral:
    """The receiving structure says whether the person came (honorée) or not (non honorée)."""
    if not policy.can_answer_referral(session, actor, referral):
        raise Forbidden("Seuls les médiateurs de la structure d'accueil indiquent si l'orientation a été honorée.")
    if honoured:
        referral.honour(actor.id)
    else:
        referral.not_honour(actor.id)
    session.flush()
    if honoured:
        notify(session, referral.from_structure_id, NotificationKind.ORIENTATION_HONOREE,
               other_structure_id=referral.to_structure_id, case_id=referral.case_id, referral_id=referral.id)
    _audit(session, "referral.honoured" if honoured else "referral.not_honoured", actor, referral, automatic=False)
    return referral


def honour_for_activity(session: Session, activity: Activity) -> list[Referral]:
    """Called when an activity is logged (signal ``cases.activity_logged``): every live referral of its participants towards the
    structure where it took place (acting structure or place), made on or before its date, is
    honoured, with the activity as proof."""
    places = {activity.structure_id, activity.place_structure_id} - {None}
    case_ids = {p.case_id for p in activity.participations if p.case_id is not None}
    if not case_ids:
        return []
    referrals = list(session.scalars(
        sa.select(Referral).where(Referral.case_id.in_(case_ids), Referral.to_structure_id.in_(places),
                                  Referral.status.in_(LIVE_REFERRAL_STATUSES))))
    honoured = []
    for referral in referrals:
        if to_paris(referral.created_at).date() > activity.date:
            continue
        referral.honour(None, activity.id)
        session.flush()
        notify(session, referral.from_structure_id, NotificationKind.ORIENTATION_HONOREE,
               other_structure_id=referral.to_structure_id, case_id=referral.case_id, referral_id=referral.id)
        _audit(session, "referral.honoured", activity.mediator_id, referral, automatic=True, activity_id=activity.id)
        honoured.append(referral)
    return honoured


def honour_for_imported(session: Session, activity_ids: list[int]) -> list[Referral]:
    """Called when activities were imported: the same rule as :func:`honour_for_activity`, for
    each imported activity with a participant whose case has a live referral (oldest first, so
    the first activity at the place proves the referral)."""
    honoured: list[Referral] = []
    live_cases = sa.select(Referral.case_id).where(Referral.status.in_(LIVE_REFERRAL_STATUSES))
    ids = sorted(activity_ids)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        with_live_referral = (sa.select(Participation.activity_id)
                              .where(Participation.activity_id.in_(chunk), Participation.case_id.in_(live_cases)))
        for activity in session.scalars(sa.select(Activity).where(Activity.id.in_(with_live_referral))
                                        .order_by(Activity.date, Activity.id)).all():
            honoured.extend(honour_for_activity(session, activity))
    return honoured


def expire_overdue(session: Session, today: date | None = None) -> int:
    """Mark « non honorée » every live referral whose delay is over; returns how many."""
    today = today or local_today()
    overdue = list(session.scalars(sa.select(Referral).where(Referral.status.in_(LIVE_REFERRAL_STATUSES),
                                                             Referral.due_on < today).order_by(Referral.id)))
    for referral in overdue:
        referral.not_honour(None)
        session.flush()
        _audit(session, "referral.not_honoured", None, referral, automatic=True)
    if overdue:
        record(session, "referral.expiry_run", details={"count": len(overdue)})
    return len(overdue)


@register("pathways.expire_referrals")
def expire_job(session: Session, job, progress) -> dict:
    count = expire_overdue(session)
    progress(count, count)
    return {"non_honorees": count}


# --- lists --------------------------------------------------------------------------------------

DIRECTIONS = {"recues": "Orientations reçues", "envoyees": "Orientations envoyées"}


def listing(user, *, direction: str, structure_id: int | None = None, status: str | None = None,
            structures: sa.Select | None = None) -> sa.Select:
    """Referrals in (``recues``) or out (``envoyees``) of the user's structures (or of one of them, or
    of those whose ids ``structures`` selects)."""
    query = policy.visible_referrals(user).options(
        joinedload(Referral.from_structure), joinedload(Referral.to_structure),
        joinedload(Referral.case).joinedload(Case.beneficiary).joinedload(Beneficiary.residence_commune),
        joinedload(Referral.milestone))
    column = Referral.to_structure_id if direction == "recues" else Referral.from_structure_id
    scope = policy.referral_structures(user)
    if scope is not None:
        query = query.where(column.in_(scope))
    if structure_id:
        query = query.where(column == structure_id)
    if structures is not None:
        query = query.where(column.in_(structures))
    if status in {s.value for s in ReferralStatus}:
        query = query.where(Referral.status == status)
    return query.order_by(Referral.status.not_in(LIVE_REFERRAL_STATUSES), Referral.created_at.desc(),
                          Referral.id.desc())


def pending_count(session: Session, user) -> int:
    """Referrals waiting for an answer from the user's structures (mediators)."""
    if user.role != Role.MEDIATOR:
        return 0
    return session.scalar(sa.select(sa.func.count(Referral.id)).where(
        Referral.to_structure_id.in_(policy.my_structure_ids(user)), Referral.status == ReferralStatus.PROPOSEE)) or 0


def of_case(session: Session, case: Case) -> list[Referral]:
    return list(session.scalars(
        sa.select(Referral).where(Referral.case_id == case.id)
        .options(joinedload(Referral.from_structure), joinedload(Referral.to_structure), joinedload(Referral.milestone))
        .order_by(Referral.created_at.desc(), Referral.id.desc())))

