"""Messages to the person: confirmation, reminder the day before, cancellation (a move confirms the
new appointment), in the person's language (``Beneficiary.language``, French if none; the catalogues
of :mod:`mediation.i18n`); by e-mail through
the outbox (:mod:`mediation.mail`), else by SMS through the SMS outbox below (development: a text
file per message and ``app.extensions['sms_outbox']``; nothing leaves the machine). An ICS file of
the appointment for calendars."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from mediation import i18n
from mediation.appointments.models import Appointment
from mediation.mail import send_mail
from mediation.types import to_paris, utcnow

log = logging.getLogger("mediation.sms")


def send_sms(to: str, body: str) -> dict:
    message = {"to": to, "body": body}
    current_app.extensions.setdefault("sms_outbox", []).append(message)
    if not current_app.testing:
        outbox = Path(current_app.config["MEDIATION_OUTBOX_DIR"])
        outbox.mkdir(parents=True, exist_ok=True)
        (outbox / f"{utcnow():%Y%m%dT%H%M%S%f}.sms.txt").write_text(f"À : {to}\n\n{body}\n", encoding="utf-8")
        log.info("sms written to outbox")
    return message


def when_fr(appointment: Appointment) -> str:
    from babel.dates import format_date

    local = to_paris(appointment.starts_at)
    hour = f"{local.hour} h" if local.minute == 0 else f"{local.hour} h {local.minute:02d}"
    return f"{format_date(local.date(), 'EEEE d MMMM y', locale='fr_FR')} à {hour}"


def when_local(appointment: Appointment, language: str) -> str:
    """The date and hour in the person's language (call under :func:`flask_babel.force_locale`)."""
    if language == i18n.DEFAULT:
        return when_fr(appointment)
    from babel.dates import format_date, format_time

    local = to_paris(appointment.starts_at)
    return _("%(date)s à %(hour)s", date=format_date(local.date(), "full", locale=language),
             hour=format_time(local.time(), "short", locale=language))


def _address(appointment: Appointment) -> str:
    place = appointment.structure
    return ", ".join(p for p in (place.address, place.commune.name if place.commune else "") if p)


def _compose(kind: str, values: dict) -> tuple[str, str]:
    """The subject and the text (without the greeting) of ``kind``, in the current locale."""
    phone = values["phone"]
    if kind == "confirmation":
        change = (_("Pour l’annuler ou le déplacer, appelez %(phone)s ou ouvrez votre carnet.", phone=phone)
                  if phone else _("Pour l’annuler ou le déplacer, appelez le lieu ou ouvrez votre carnet."))
        return (_("Votre rendez-vous du %(when)s", when=values["when"]),
                _("Votre rendez-vous « %(service)s » est pris le %(when)s à %(place)s (%(address)s).", **values)
                + "\n" + change)
    if kind == "rappel":
        warn = (_("Si vous ne pouvez pas venir, prévenez au %(phone)s.", phone=phone)
                if phone else _("Si vous ne pouvez pas venir, prévenez le lieu."))
        return (_("Rappel : rendez-vous demain"),
                _("Rappel : vous avez rendez-vous demain, le %(when)s, à %(place)s (%(address)s) pour "
                  "« %(service)s ».", **values) + "\n" + warn)
    if kind == "annulation":
        return _("Rendez-vous annulé"), _("Votre rendez-vous du %(when)s à %(place)s est annulé.", **values)
    raise ValueError(kind)


def compose(appointment: Appointment, kind: str) -> tuple[str, str, str]:
    """(subject, e-mail body, SMS text) of ``kind`` in the person's language (French if none).
    A move is a confirmation of the new appointment."""
    language = i18n.known(appointment.beneficiary.language) or i18n.DEFAULT
    with force_locale(language):
        values = {"when": when_local(appointment, language), "place": appointment.structure.name,
                  "address": _address(appointment), "service": appointment.service,
                  "phone": appointment.structure.telephone}
        subject, text = _compose(kind, values)
        return subject, _("Bonjour,") + "\n\n" + text + "\n", text.strip()[:459]


def tell_person(appointment: Appointment, kind: str) -> str | None:
    """Send ``kind`` to the person: e-mail when they have one, else SMS; returns the channel used."""
    person = appointment.beneficiary
    if not (person.email or person.phone):
        return None
    subject, body, sms = compose(appointment, kind)
    if person.email:
        send_mail(person.email, subject, body)
        return "courriel"
    send_sms(person.phone, sms)
    return "sms"


def _ics_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def ics(appointment: Appointment) -> str:
    """The appointment as an iCalendar event (RFC 5545), times in UTC."""
    host = current_app.config.get("MEDIATION_PUBLIC_BASE_URL", "https://mediation.example.org").split("//")[-1]
    stamp = "%Y%m%dT%H%M%SZ"
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Mediation numerique//Rendez-vous//FR", "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:rendez-vous-{appointment.id}@{host.strip('/')}",
        f"DTSTAMP:{utcnow():{stamp}}",
        f"DTSTART:{appointment.starts_at:{stamp}}",
        f"DTEND:{appointment.ends_at:{stamp}}",
        f"SUMMARY:{_ics_text('Rendez-vous : ' + appointment.service)}",
        f"LOCATION:{_ics_text(appointment.structure.name + ', ' + _address(appointment))}",
        "STATUS:" + ("CONFIRMED" if appointment.is_live else "CANCELLED"),
        "END:VEVENT", "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"
