"""Messages to the person: confirmation, reminder the day before, cancellation; by e-mail through
the outbox (:mod:`mediation.mail`), else by SMS through the SMS outbox below (development: a text
file per message and ``app.extensions['sms_outbox']``; nothing leaves the machine). An ICS file of
the appointment for calendars."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app

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


def _address(appointment: Appointment) -> str:
    place = appointment.structure
    return ", ".join(p for p in (place.address, place.commune.name if place.commune else "") if p)


TEMPLATES = {
    "confirmation": ("Votre rendez-vous du {when}",
                     "Bonjour,\n\nVotre rendez-vous « {service} » est pris le {when} à {place} ({address}).\n"
                     "Pour l’annuler ou le déplacer, appelez {phone} ou ouvrez votre carnet.\n"),
    "rappel": ("Rappel : rendez-vous demain",
               "Bonjour,\n\nRappel : vous avez rendez-vous demain, le {when}, à {place} ({address}) pour "
               "« {service} ».\nSi vous ne pouvez pas venir, prévenez au {phone}.\n"),
    "annulation": ("Rendez-vous annulé",
                   "Bonjour,\n\nVotre rendez-vous du {when} à {place} est annulé.\n"),
}


def tell_person(appointment: Appointment, kind: str) -> str | None:
    """Send ``kind`` to the person: e-mail when they have one, else SMS; returns the channel used."""
    person = appointment.beneficiary
    subject, body = TEMPLATES[kind]
    values = {"when": when_fr(appointment), "place": appointment.structure.name, "address": _address(appointment),
              "service": appointment.service, "phone": appointment.structure.telephone or "le lieu"}
    if person.email:
        send_mail(person.email, subject.format(**values), body.format(**values))
        return "courriel"
    if person.phone:
        send_sms(person.phone, body.format(**values).replace("Bonjour,\n\n", "").strip()[:459])
        return "sms"
    return None


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
