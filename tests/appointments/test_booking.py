"""Booking a slot, the seat held by the database, the lifecycle and the reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from mediation.appointments import services
from mediation.appointments.models import Appointment, AppointmentState
from mediation.errors import Conflict, Forbidden
from mediation.pathways import referrals
from mediation.pathways.enums import ReferralStatus
from mediation.types import local_today


def _tomorrow_slots(session, offer):
    day = local_today() + timedelta(days=1)
    return services.slots(session, offer, day, day)


def test_slots_follow_the_hours_duration_and_blocks(session, network, offer):
    place_offer = offer()
    slots = _tomorrow_slots(session, place_offer)
    assert len(slots) == 12  # 3 h in the morning, 3 h in the afternoon, 30 min each
    assert slots[0].local_start.hour == 9 and slots[-1].local_start.strftime("%H:%M") == "16:30"
    services.block_time(session, network.mediator_b, network.structure_b, slots[0].starts_at,
                        slots[2].starts_at, "Formation")
    after = _tomorrow_slots(session, place_offer)
    assert len(after) == 10 and after[0].starts_at == slots[2].starts_at


def test_a_mediator_books_for_a_referred_person_who_is_confirmed(session, network, offer, person, outbox):
    place_offer = offer()
    case = person(network_consent=True, email="personne@test.example")
    referral = referrals.create_referral(session, network.mediator, case,
                                         referrals.ReferralInput(to_structure_id=network.structure_b.id,
                                                                 service=place_offer.service))
    slot = _tomorrow_slots(session, place_offer)[0]
    appointment = services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at,
                                case=case, referral=referral)
    assert appointment.state == AppointmentState.BOOKED and appointment.seat == 0
    assert outbox[-1]["To"] == "personne@test.example" and "rendez-vous" in outbox[-1]["Subject"]
    assert appointment.confirmation_sent_at is not None
    assert _tomorrow_slots(session, place_offer)[0].free == 1


def test_the_database_refuses_a_seat_twice_and_beyond_capacity(session, network, offer, person):
    place_offer = offer(capacity=1)
    case = person(network_consent=True)
    slot = _tomorrow_slots(session, place_offer)[0]
    first = services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at, case=case)
    fields = {c: getattr(first, c) for c in ("offer_id", "structure_id", "service", "starts_at", "ends_at",
                                             "capacity", "beneficiary_id")}
    for seat in (0, 1):  # the seat held, then a seat beyond the capacity
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(Appointment(seat=seat, state=AppointmentState.BOOKED, **fields))
            session.flush()


def test_two_mediators_book_the_last_seat_one_wins_the_other_is_told(session, network, offer, person, monkeypatch):
    """Both read the slot with one seat free before either writes (what happens when two mediators
    press « Réserver » at the same moment): the database keeps the first, the second gets a clear
    message and nothing of theirs is written."""
    place_offer = offer(capacity=1)
    slot = _tomorrow_slots(session, place_offer)[0]
    seen_free = services.free_seat(session, place_offer, slot.starts_at)
    assert seen_free == 0
    monkeypatch.setattr(services, "free_seat", lambda *_: seen_free)  # both saw the seat free
    first = services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at,
                          case=person(network_consent=True))
    with pytest.raises(Conflict) as refused:
        services.book(session, network.mediator_b, offer=place_offer, starts_at=slot.starts_at,
                      case=person(network_consent=True, structure=network.structure_b, mediator=network.mediator_b))
    assert "dernière place" in refused.value.message and "Choisissez un autre créneau" in refused.value.message
    held = session.scalars(sa.select(Appointment).where(Appointment.starts_at == slot.starts_at)).all()
    assert held == [first]


def test_a_full_slot_is_refused_with_a_message(session, network, offer, person):
    place_offer = offer(capacity=1)
    slot = _tomorrow_slots(session, place_offer)[0]
    services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at, case=person(network_consent=True))
    with pytest.raises(Conflict, match="complet"):
        services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at,
                      case=person(network_consent=True))


def test_cancel_and_move_free_the_seat(session, network, offer, person):
    place_offer = offer(capacity=1)
    slots = _tomorrow_slots(session, place_offer)
    case = person(network_consent=True)
    appointment = services.book(session, network.mediator_b, offer=place_offer, starts_at=slots[0].starts_at, case=case)
    moved = services.move(session, network.mediator_b, appointment, slots[1].starts_at)
    assert appointment.state == AppointmentState.MOVED and appointment.moved_to_id == moved.id
    assert _tomorrow_slots(session, place_offer)[0].free == 1
    services.cancel(session, network.mediator_b, moved)
    assert moved.state == AppointmentState.CANCELLED
    with pytest.raises(Forbidden):
        services.cancel(session, network.mediator_far, moved)


def test_attended_logs_the_session_that_honours_the_referral(session, network, offer, person):
    place_offer = offer()
    case = person(network_consent=True)
    referral = referrals.create_referral(session, network.mediator, case,
                                         referrals.ReferralInput(to_structure_id=network.structure_b.id))
    slot = _tomorrow_slots(session, place_offer)[0]
    appointment = services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at,
                                case=case, referral=referral)
    appointment.starts_at -= timedelta(days=1)  # the appointment was today
    appointment.ends_at -= timedelta(days=1)
    with pytest.raises(Forbidden):
        services.record_attendance(session, network.mediator, appointment, True)  # not the place's mediator
    services.record_attendance(session, network.mediator_b, appointment, True)
    assert appointment.state == AppointmentState.ATTENDED and appointment.activity_id is not None
    assert referral.status == ReferralStatus.HONOREE and referral.honoured_activity_id == appointment.activity_id


def test_reminders_go_out_once_the_day_before(session, network, offer, person, outbox):
    place_offer = offer()
    case = person(network_consent=True, email="rappel@test.example")
    slot = _tomorrow_slots(session, place_offer)[0]
    services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at, case=case,
                  notify_person=False)
    assert services.send_reminders(session) == 1
    assert outbox[-1]["Subject"] == "Rappel : rendez-vous demain"
    assert services.send_reminders(session) == 0


def test_the_person_cancels_from_their_wallet(session, network, offer, person, outbox):
    place_offer = offer()
    case = person(network_consent=True, email="moi@test.example")
    slot = _tomorrow_slots(session, place_offer)[0]
    appointment = services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at, case=case)
    assert services.of_beneficiary(session, case.beneficiary_id, upcoming_only=True) == [appointment]
    services.cancel(session, None, appointment, by_person=True)
    assert appointment.state == AppointmentState.CANCELLED and appointment.closed_by_person
    assert outbox[-1]["Subject"] == "Rendez-vous annulé"
    assert services.of_beneficiary(session, case.beneficiary_id, upcoming_only=True) == []


def test_indicators_days_to_appointment_and_attendance_by_service_and_place(session, network, offer, person):
    """The evaluation's outcomes carry the new indicators, hidden while the people who came (or did
    not) are fewer than the threshold, as every rate."""
    from mediation.evaluation import indicators
    from mediation.evaluation.scope import EvaluationFilter, Scope, authorise

    place_offer = offer(capacity=10)
    slots = _tomorrow_slots(session, place_offer)

    def seen(count, came, slot):
        booked = []
        for _ in range(count):
            case = person(network_consent=True)
            referral = referrals.create_referral(session, network.mediator, case, referrals.ReferralInput(
                to_structure_id=network.structure_b.id))
            booked.append(services.book(session, network.mediator, offer=place_offer, starts_at=slot.starts_at,
                                        case=case, referral=referral, notify_person=False))
        for n, appointment in enumerate(booked):
            appointment.starts_at -= timedelta(days=1)  # the day has come
            appointment.ends_at -= timedelta(days=1)
            session.flush()
            services.record_attendance(session, network.mediator_b, appointment, attended=n < came)

    def dashboard():
        asked = EvaluationFilter(start=local_today() - timedelta(days=30), end=local_today())
        return indicators.compute_dashboard(Scope(session, network.admin, authorise(session, network.admin, asked)),
                                            threshold=5)

    seen(6, came=5, slot=slots[0])
    assert dashboard().figure("resultats.venue_rendez_vous").mask  # one person missed: not published
    seen(4, came=0, slot=slots[1])
    result = dashboard()
    rate = result.figure("resultats.venue_rendez_vous")
    assert (rate.numerator.value, rate.denominator.value) == (5, 10) and rate.display.startswith("50")
    assert result.figure("resultats.delai_rendez_vous").value == 0  # booked the day of the referral
    by_place = result.table("resultats.venue_par_lieu")
    assert [row.label for row in by_place.rows if row.key] == ["Médiathèque B"]
    assert result.table("resultats.venue_par_service") is not None
