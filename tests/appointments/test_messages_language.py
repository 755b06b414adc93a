"""Appointment messages (confirmation, reminder, cancellation, move) are written in the person's
language, with the date in that language; French when the person has not chosen one."""

from __future__ import annotations

from datetime import timedelta

from babel.dates import format_date

from mediation.appointments import services
from mediation.types import local_today, to_paris


def _book(session, network, offer, person, *, language=None, **contact):
    place_offer = offer()
    case = person(network_consent=True, **contact)
    case.beneficiary.language = language
    session.flush()
    day = local_today() + timedelta(days=1)
    slots = services.slots(session, place_offer, day, day)
    appointment = services.book(session, network.mediator, offer=place_offer, starts_at=slots[0].starts_at,
                                case=case)
    return appointment, slots


def test_an_arabic_reader_gets_the_confirmation_reminder_and_cancellation_in_arabic(
        session, network, offer, person, outbox):
    appointment, _slots = _book(session, network, offer, person, language="ar", email="ar@test.example")
    confirmation = outbox[-1]
    assert confirmation["Subject"].startswith("موعدك يوم")
    body = confirmation.get_content()
    assert body.startswith("مرحبًا،") and "تم حجز موعدك" in body and "Votre" not in body
    assert "اتصل بالمكان" in body  # the place gave no telephone
    day = format_date(to_paris(appointment.starts_at).date(), "full", locale="ar")
    assert day in body  # the date written in Arabic, not « vendredi 4 décembre »

    appointment.reminder_sent_at = None
    assert services.send_reminders(session) == 1
    assert outbox[-1]["Subject"] == "تذكير: لديك موعد غدًا"

    services.cancel(session, None, appointment, by_person=True)
    assert outbox[-1]["Subject"] == "تم إلغاء الموعد" and "تم إلغاء موعدك" in outbox[-1].get_content()


def test_a_ukrainian_reader_without_email_gets_the_sms_and_the_move_in_ukrainian(
        session, app, network, offer, person, outbox):
    app.extensions["sms_outbox"] = []
    appointment, slots = _book(session, network, offer, person, language="uk", phone="0601020304")
    sms = app.extensions["sms_outbox"][-1]
    assert sms["to"] == "0601020304" and sms["body"].startswith("Вашу зустріч")
    assert "Bonjour" not in sms["body"] and "Добрий день" not in sms["body"]
    assert format_date(to_paris(appointment.starts_at).date(), "full", locale="uk") in sms["body"]

    services.move(session, network.mediator_b, appointment, slots[1].starts_at)
    assert app.extensions["sms_outbox"][-1]["body"].startswith("Вашу зустріч")
    assert outbox == []


def test_a_person_without_a_language_gets_french(session, network, offer, person, outbox):
    _book(session, network, offer, person, email="fr@test.example")
    assert outbox[-1]["Subject"].startswith("Votre rendez-vous du ")
    body = outbox[-1].get_content()
    assert body.startswith("Bonjour,\n\nVotre rendez-vous « ") and " h" in body
    assert "appelez le lieu ou ouvrez votre carnet" in body  # the place gave no telephone


def test_an_unknown_language_code_falls_back_to_french(session, network, offer, person, outbox):
    _book(session, network, offer, person, language="xx", email="xx@test.example")
    assert outbox[-1]["Subject"].startswith("Votre rendez-vous du ")
