"""Offers, blocked time, slots and the appointments' lifecycle.

- :func:`free_slots`: the slots of an offer over a period, with the seats taken (one query).
- :func:`book`: a mediator books a slot for a person (optionally for a referral). The seat is the
  lowest free one; the database refuses a second appointment on the same seat and a seat beyond the
  capacity, so two mediators booking the last seat at the same moment cannot both win: the loser gets
  :class:`~mediation.errors.Conflict` with a French message and nothing is written for them.
- :func:`cancel`, :func:`move` (mediator, or the person from their wallet), :func:`record_attendance`
  (the place's mediators): « venu » logs an individual session of the person at the place, which
  honours the referral through the activity signal (pathways), and the appointment keeps the activity.
- :func:`send_reminders`: the day-before reminders (job ``appointments.reminders``).

Services flush and never commit; every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from mediation.appointments import messages, policy
from mediation.appointments.models import (
    SEATED_STATES,
    Appointment,
    AppointmentOffer,
    AppointmentState,
    SlotBlock,
)
from mediation.appointments.slots import Slot, overlaps, parse_hours, starts_between
from mediation.audit.services import record
from mediation.cases import activities
from mediation.cases import policy as case_policy
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.cases.models import Beneficiary, Case
from mediation.directory.models import Structure
from mediation.directory.national_schema import SERVICES
from mediation.errors import Conflict, DomainError, Forbidden, ValidationFailed
from mediation.jobs import register
from mediation.pathways import policy as pathways_policy
from mediation.pathways.models import Referral
from mediation.types import local_today, to_paris, utcnow

BOOKING_HORIZON_DAYS = 28
LAST_SEAT_TAKEN = ("La dernière place de ce créneau vient d’être prise par quelqu’un d’autre : rien n’a été "
                   "enregistré. Choisissez un autre créneau.")


# --- offers and blocked time ------------------------------------------------------------------

@dataclass
class OfferInput:
    service: str | None = None
    duration_min: int | None = 30
    capacity: int | None = 1
    hours: str | None = None
    active: bool = True


def _check_place(session: Session, actor, structure: Structure) -> None:
    if not policy.can_manage_place(session, actor, structure.id):
        raise Forbidden("Seule l’équipe du lieu ou sa coordination règle ses rendez-vous.")


def save_offer(session: Session, actor, structure: Structure, data: OfferInput) -> AppointmentOffer:
    """Create or update the place's offer for a service. Raises ValidationFailed (service, duration,
    capacity, hours) and Forbidden (not the place's team)."""
    _check_place(session, actor, structure)
    errors = {}
    if data.service not in SERVICES:
        errors["service"] = "Choisissez un service du schéma national"
    if not data.duration_min or not 5 <= data.duration_min <= 480:
        errors["duration_min"] = "Une durée entre 5 et 480 minutes"
    if not data.capacity or not 1 <= data.capacity <= 50:
        errors["capacity"] = "Entre 1 et 50 personnes par créneau"
    hours = (data.hours or "").strip() or None
    if hours and parse_hours(hours) is None:
        errors["hours"] = "Horaires illisibles : écrivez-les comme « Mo-Fr 09:00-12:00,14:00-17:00; Sa 09:00-12:00 »"
    if not hours and parse_hours(structure.horaires) is None:
        errors.setdefault("hours", "Le lieu n’a pas d’horaires lisibles : indiquez ceux des rendez-vous")
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    offer = session.scalar(sa.select(AppointmentOffer).where(AppointmentOffer.structure_id == structure.id,
                                                             AppointmentOffer.service == data.service))
    if offer is None:
        offer = AppointmentOffer(structure_id=structure.id, service=data.service)
        session.add(offer)
    offer.duration_min, offer.capacity, offer.hours, offer.active = data.duration_min, data.capacity, hours, data.active
    session.flush()
    record(session, "appointment.offer_saved", actor=actor, obj=offer, structure_id=structure.id,
           details={"service": offer.service, "duration_min": offer.duration_min, "capacity": offer.capacity})
    return offer


def offers_of(session: Session, structure_id: int, *, active_only: bool = False) -> list[AppointmentOffer]:
    query = sa.select(AppointmentOffer).where(AppointmentOffer.structure_id == structure_id)
    if active_only:
        query = query.where(AppointmentOffer.active.is_(True))
    return list(session.scalars(query.order_by(AppointmentOffer.service)))


def offer_for(session: Session, structure_id: int, service: str | None) -> AppointmentOffer | None:
    """The active offer of a place for a service (the only one when no service is given)."""
    offers = offers_of(session, structure_id, active_only=True)
    if service:
        return next((o for o in offers if o.service == service), None)
    return offers[0] if len(offers) == 1 else None


def block_time(session: Session, actor, structure: Structure, starts_at: datetime | None, ends_at: datetime | None,
               reason: str | None = None, offer_id: int | None = None) -> SlotBlock:
    """Block a period of the place (every service, or one offer). Booked appointments in it stay:
    the mediator moves or cancels them."""
    _check_place(session, actor, structure)
    if starts_at is None:
        raise ValidationFailed("Indiquez le début de la plage", field="starts_at")
    if ends_at is None or ends_at <= starts_at:
        raise ValidationFailed("La fin doit être après le début", field="ends_at")
    if offer_id and offer_id not in {o.id for o in offers_of(session, structure.id)}:
        raise ValidationFailed("Service inconnu pour ce lieu", field="offer_id")
    block = SlotBlock(structure_id=structure.id, offer_id=offer_id or None, starts_at=starts_at, ends_at=ends_at,
                      reason=(reason or "").strip()[:200] or None, created_by_id=actor.id)
    session.add(block)
    session.flush()
    record(session, "appointment.time_blocked", actor=actor, obj=block, structure_id=structure.id,
           details={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat()})
    return block


def remove_block(session: Session, actor, block: SlotBlock) -> None:
    structure = session.get(Structure, block.structure_id)
    _check_place(session, actor, structure)
    record(session, "appointment.block_removed", actor=actor, obj=block, structure_id=block.structure_id)
    session.delete(block)
    session.flush()


def blocks_of(session: Session, structure_id: int, first: datetime, last: datetime) -> list[SlotBlock]:
    return list(session.scalars(sa.select(SlotBlock).where(
        SlotBlock.structure_id == structure_id, SlotBlock.starts_at < last, SlotBlock.ends_at > first)
        .order_by(SlotBlock.starts_at)))


# --- slots ------------------------------------------------------------------------------------

def hours_of(offer: AppointmentOffer):
    return parse_hours(offer.hours or offer.structure.horaires)


def _bounds(first: date, last: date) -> tuple[datetime, datetime]:
    from mediation.types import LOCAL_TIMEZONE

    return (datetime.combine(first, datetime.min.time(), LOCAL_TIMEZONE),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), LOCAL_TIMEZONE))


def taken_seats(session: Session, offer_ids: list[int], start: datetime, end: datetime) -> dict[tuple[int, datetime], int]:
    rows = session.execute(
        sa.select(Appointment.offer_id, Appointment.starts_at, sa.func.count(Appointment.id))
        .where(Appointment.offer_id.in_(offer_ids), Appointment.starts_at >= start, Appointment.starts_at < end,
               Appointment.state.in_(SEATED_STATES))
        .group_by(Appointment.offer_id, Appointment.starts_at))
    return {(offer_id, starts_at): count for offer_id, starts_at, count in rows}


def slots(session: Session, offer: AppointmentOffer, first: date, last: date, *, now: datetime | None = None,
          free_only: bool = False) -> list[Slot]:
    """The offer's slots from ``first`` to ``last`` (Paris dates), without the past and the blocked
    ones, with the seats taken."""
    now = now or utcnow()
    start, end = _bounds(first, last)
    blocks = [b for b in blocks_of(session, offer.structure_id, start, end) if b.offer_id in (None, offer.id)]
    taken = taken_seats(session, [offer.id], start, end)
    result = []
    for begins, ends in starts_between(hours_of(offer), offer.duration_min, first, last):
        if begins <= now or overlaps(begins, ends, blocks):
            continue
        slot = Slot(begins, ends, offer.capacity, taken.get((offer.id, begins), 0))
        if not free_only or slot.free:
            result.append(slot)
    return result


def next_free_slots(session: Session, offer: AppointmentOffer, limit: int = 6, *, now: datetime | None = None) -> list[Slot]:
    today = local_today()
    return slots(session, offer, today, today + timedelta(days=BOOKING_HORIZON_DAYS), now=now, free_only=True)[:limit]


def _slot_of(session: Session, offer: AppointmentOffer, starts_at: datetime | None) -> Slot:
    if starts_at is None:
        raise ValidationFailed("Choisissez un créneau", field="slot")
    day = to_paris(starts_at).date()
    for slot in slots(session, offer, day, day):
        if slot.starts_at == starts_at:
            return slot
    raise ValidationFailed("Ce créneau n’existe pas ou n’est plus proposé : choisissez-en un autre", field="slot")


def free_seat(session: Session, offer: AppointmentOffer, starts_at: datetime) -> int | None:
    """The lowest seat not held on that slot; None when the slot is full."""
    held = set(session.scalars(sa.select(Appointment.seat).where(
        Appointment.offer_id == offer.id, Appointment.starts_at == starts_at, Appointment.state.in_(SEATED_STATES))))
    return next((seat for seat in range(offer.capacity) if seat not in held), None)


def _insert(session: Session, appointment: Appointment) -> None:
    """Insert in a savepoint: the seat's unique index (or the capacity CHECK) refusing it means
    someone took the last seat in between."""
    try:
        with session.begin_nested():
            session.add(appointment)
            session.flush()
    except IntegrityError as error:
        raise Conflict(LAST_SEAT_TAKEN, field="slot") from error


# --- booking and lifecycle --------------------------------------------------------------------

def book(session: Session, actor, *, offer: AppointmentOffer, starts_at: datetime | None, case: Case,
         referral: Referral | None = None, note: str | None = None, notify_person: bool = True) -> Appointment:
    """Book a slot of ``offer`` for the person of ``case`` (seen through the pathways scope).

    Raises Forbidden (not a mediator), ValidationFailed (slot), Conflict (slot full, or the last
    seat taken at the same moment by someone else).
    """
    if not policy.can_book(actor):
        raise Forbidden("Seuls les médiateurs prennent des rendez-vous.")
    if not offer.active:
        raise ValidationFailed("Ce lieu ne prend plus de rendez-vous pour ce service", field="slot")
    slot = _slot_of(session, offer, starts_at)
    seat = free_seat(session, offer, slot.starts_at)
    if seat is None:
        raise Conflict("Ce créneau est complet : choisissez-en un autre.", field="slot")
    appointment = Appointment(
        offer_id=offer.id, structure_id=offer.structure_id, service=offer.service, starts_at=slot.starts_at,
        ends_at=slot.ends_at, seat=seat, capacity=offer.capacity, state=AppointmentState.BOOKED,
        beneficiary_id=case.beneficiary_id, case_id=case.id, referral_id=referral.id if referral else None,
        note=(note or "").strip()[:500] or None, created_by_id=actor.id)
    _insert(session, appointment)
    session.refresh(appointment)
    if notify_person and messages.tell_person(appointment, "confirmation"):
        appointment.confirmation_sent_at = utcnow()
    record(session, "appointment.booked", actor=actor, obj=appointment, structure_id=appointment.structure_id,
           details={"case_id": case.id, "referral_id": appointment.referral_id, "service": appointment.service,
                    "starts_at": appointment.starts_at.isoformat()})
    return appointment


def _close(appointment: Appointment, state: AppointmentState, actor, *, by_person: bool = False) -> None:
    if appointment.state != AppointmentState.BOOKED:
        raise DomainError(f"Ce rendez-vous est déjà « {appointment.state.label.lower()} ».")
    appointment.state = state
    appointment.closed_at = utcnow()
    appointment.closed_by_id = getattr(actor, "id", None)
    appointment.closed_by_person = by_person


def cancel(session: Session, actor, appointment: Appointment, *, by_person: bool = False) -> Appointment:
    """Cancel: a mediator of either side, or the person (``by_person``, from their wallet)."""
    if not by_person and not policy.can_change(session, actor, appointment):
        raise Forbidden("Seuls les médiateurs du lieu ou de la structure qui a orienté la personne l’annulent.")
    if appointment.starts_at <= utcnow():
        raise DomainError("Ce rendez-vous est passé : indiquez plutôt si la personne est venue.")
    _close(appointment, AppointmentState.CANCELLED, None if by_person else actor, by_person=by_person)
    session.flush()
    messages.tell_person(appointment, "annulation")
    record(session, "appointment.cancelled", actor=None if by_person else actor, obj=appointment,
           structure_id=appointment.structure_id, details={"by_person": by_person})
    return appointment


def move(session: Session, actor, appointment: Appointment, starts_at: datetime | None) -> Appointment:
    """Move to another slot of the same offer: a new appointment is booked (same rules as
    :func:`book`), the old one becomes « déplacé » and points to it."""
    if not policy.can_change(session, actor, appointment):
        raise Forbidden("Seuls les médiateurs du lieu ou de la structure qui a orienté la personne le déplacent.")
    if appointment.state != AppointmentState.BOOKED:
        raise DomainError(f"Ce rendez-vous est déjà « {appointment.state.label.lower()} ».")
    if starts_at == appointment.starts_at:
        raise ValidationFailed("Choisissez un autre créneau que l’actuel", field="slot")
    _close(appointment, AppointmentState.MOVED, actor)
    session.flush()  # frees the seat before booking the new one
    case = session.get(Case, appointment.case_id)
    new = book(session, actor, offer=appointment.offer, starts_at=starts_at, case=case,
               referral=appointment.referral, note=appointment.note)
    appointment.moved_to_id = new.id
    session.flush()
    record(session, "appointment.moved", actor=actor, obj=appointment, structure_id=appointment.structure_id,
           details={"to": new.id, "starts_at": new.starts_at.isoformat()})
    return new


def record_attendance(session: Session, actor, appointment: Appointment, attended: bool) -> Appointment:
    """The place's mediators say whether the person came. « Venu » logs an individual session of
    the person at the place (same service as any activity: statistics, referral honoured)."""
    if not policy.can_record_attendance(session, actor, appointment):
        raise Forbidden("Seuls les médiateurs du lieu indiquent si la personne est venue.")
    if to_paris(appointment.starts_at).date() > local_today():
        raise DomainError("Ce rendez-vous n’a pas encore eu lieu.")
    _close(appointment, AppointmentState.ATTENDED if attended else AppointmentState.MISSED, actor)
    if attended:
        appointment.activity_id = _log_session(session, actor, appointment).id
    session.flush()
    record(session, "appointment.attended" if attended else "appointment.missed", actor=actor, obj=appointment,
           structure_id=appointment.structure_id, details={"activity_id": appointment.activity_id})
    return appointment


THEMATIQUE_OF_SERVICE = {
    "Aide aux démarches administratives": "aide_aux_demarches_administratives",
    "Maîtrise des outils numériques du quotidien": "navigation_sur_internet",
    "Insertion professionnelle via le numérique": "insertion_professionnelle",
    "Utilisation sécurisée du numérique": "securite_numerique",
    "Parentalité et éducation avec le numérique": "parentalite",
    "Loisirs et créations numériques": "creer_avec_le_numerique",
    "Compréhension du monde numérique": "culture_numerique",
    "Accès internet et matériel informatique": "prendre_en_main_du_materiel",
    "Acquisition de matériel informatique à prix solidaire": "prendre_en_main_du_materiel",
}


def _log_session(session: Session, actor, appointment: Appointment):

    thematique = THEMATIQUE_OF_SERVICE.get(appointment.service, Thematique.NAVIGATION_SUR_INTERNET.value)
    data = activities.ActivityInput(
        type=ActivityType.INDIVIDUEL, structure_id=appointment.structure_id,
        date=to_paris(appointment.starts_at).date(),
        duration_min=int((appointment.ends_at - appointment.starts_at).total_seconds() // 60),
        place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=appointment.structure_id,
        thematiques=[thematique], beneficiary_id=appointment.beneficiary_id,
        notes=f"Rendez-vous « {appointment.service} »")
    in_scope = case_policy.beneficiary_loader(session, actor)

    def visible_beneficiary(beneficiary_id):
        # The place sees the person it was referred (network consent, pathways scope) before
        # accepting the referral: the person who came is the appointment's.
        found = in_scope(beneficiary_id)
        if found is None and str(beneficiary_id) == str(appointment.beneficiary_id) and appointment.case_id \
                and pathways_policy.get_case(session, actor, appointment.case_id) is not None:
            found = session.get(Beneficiary, appointment.beneficiary_id)
        return found

    return activities.log_activity(session, actor, data, visible_beneficiary=visible_beneficiary)


# --- lists ------------------------------------------------------------------------------------

def week_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def agenda(session: Session, structure_ids: list[int], monday: date) -> list[Appointment]:
    """The appointments of the places during the week starting ``monday`` (cancelled and moved ones
    left out), by time."""
    start, end = _bounds(monday, monday + timedelta(days=6))
    return list(session.scalars(
        sa.select(Appointment).where(Appointment.structure_id.in_(structure_ids), Appointment.starts_at >= start,
                                     Appointment.starts_at < end, Appointment.state.in_(SEATED_STATES))
        .options(joinedload(Appointment.beneficiary), joinedload(Appointment.referral),
                 joinedload(Appointment.structure))
        .order_by(Appointment.starts_at, Appointment.id)))


def of_beneficiary(session: Session, beneficiary_id: int, *, upcoming_only: bool = False) -> list[Appointment]:
    query = (sa.select(Appointment).where(Appointment.beneficiary_id == beneficiary_id)
             .options(joinedload(Appointment.structure).joinedload(Structure.commune))
             .order_by(Appointment.starts_at.desc()))
    if upcoming_only:
        query = query.where(Appointment.state == AppointmentState.BOOKED, Appointment.starts_at > utcnow())
    return list(session.scalars(query))


def of_referral(session: Session, referral_id: int) -> list[Appointment]:
    return list(session.scalars(sa.select(Appointment).where(Appointment.referral_id == referral_id)
                                .order_by(Appointment.starts_at)))


# --- reminders --------------------------------------------------------------------------------

def send_reminders(session: Session, today: date | None = None) -> int:
    """Remind every person booked for tomorrow (once); returns how many were reminded."""
    tomorrow = (today or local_today()) + timedelta(days=1)
    start, end = _bounds(tomorrow, tomorrow)
    due = list(session.scalars(sa.select(Appointment).where(
        Appointment.state == AppointmentState.BOOKED, Appointment.starts_at >= start, Appointment.starts_at < end,
        Appointment.reminder_sent_at.is_(None)).options(joinedload(Appointment.beneficiary))
        .order_by(Appointment.id)))
    count = 0
    for appointment in due:
        if messages.tell_person(appointment, "rappel"):
            count += 1
        appointment.reminder_sent_at = utcnow()
    session.flush()
    return count


@register("appointments.reminders")
def reminders_job(session: Session, job, progress) -> dict:
    count = send_reminders(session)
    progress(count, count)
    return {"rappels envoyés": count}


def beneficiary_of(session: Session, appointment: Appointment) -> Beneficiary:
    return session.get(Beneficiary, appointment.beneficiary_id)
