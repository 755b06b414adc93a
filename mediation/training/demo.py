"""Demonstration trainings: every reference kind somewhere, certificates attached, trainings that
expire within the reminder window, and one aidant (Inès Roux, CCAS de Sotteville-lès-Rouen) whose
Aidants Connect habilitation has expired — refused a mandate, reported to the coordination by the
daily job run here."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy.orm import Session

from mediation.training import services
from mediation.training.models import TrainingKind, TrainingRecord
from mediation.types import local_today


def certificate_pdf(title: str, name: str) -> bytes:
    """A one-page PDF saying what the certificate is (demo and tests; offsets computed)."""
    text = f"Attestation : {title} - {name}".encode("latin-1", "replace")
    content = b"BT /F1 14 Tf 60 760 Td (" + text.replace(b"(", b"[").replace(b")", b"]") + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> "
        b"/Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length " + str(len(content)).encode() + b" >>\nstream\n" + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def load_training_demo(session: Session, *, users, **_ignored) -> None:
    today = local_today()
    by_email = {u.email: u for u in users}
    admin = by_email.get("admin@demo.test")

    def add(email, kind, obtained_days_ago, *, valid_days=None, title=None, organisation=None, certificate=True):
        person = by_email.get(email)
        if person is None:
            return
        obtained = today - timedelta(days=obtained_days_ago)
        entry = TrainingRecord(
            user_id=person.id, kind=kind, title=title, organisation=organisation, obtained_on=obtained,
            expires_on=obtained + timedelta(days=valid_days) if valid_days else None,
            created_by_id=admin.id if admin else None)
        if certificate:
            entry.certificate = certificate_pdf(title or kind.label, person.full_name)
            entry.certificate_type = "application/pdf"
            entry.certificate_sha256 = hashlib.sha256(entry.certificate).hexdigest()
        session.add(entry)

    three_years = 3 * 365
    # Sophie Lefèvre, the demo aidant: habilitation in force; her Pix certification expires in a month.
    add("aidant@demo.test", TrainingKind.AIDANTS_CONNECT, 630, valid_days=three_years, organisation="Aidants Connect")
    add("aidant@demo.test", TrainingKind.CONSEILLER_NUMERIQUE, 1200, organisation="Solidarité Numérique")
    add("aidant@demo.test", TrainingKind.PIX, three_years - 30, valid_days=three_years, organisation="Pix")
    # Inès Roux, aidant at the CCAS: her habilitation expired three weeks ago.
    add("ines.roux@demo.test", TrainingKind.AIDANTS_CONNECT, three_years + 21, valid_days=three_years,
        organisation="Aidants Connect")
    add("ines.roux@demo.test", TrainingKind.PSC1, 400, organisation="Croix-Rouge française", certificate=False)
    add("mediateur@demo.test", TrainingKind.CONSEILLER_NUMERIQUE, 1500, organisation="Solidarité Numérique")
    add("mediateur@demo.test", TrainingKind.CCP_REMN, 900, organisation="Afpa")
    add("mediateur@demo.test", TrainingKind.PSC1, 700, valid_days=745, organisation="Protection civile")
    add("mediatrice@demo.test", TrainingKind.CONSEILLER_NUMERIQUE, 1000, organisation="Solidarité Numérique")
    add("mediatrice@demo.test", TrainingKind.PIX, 300, valid_days=three_years, organisation="Pix", certificate=False)
    add("thomas.petit@demo.test", TrainingKind.AUTRE, 200, title="Accompagner les démarches de santé en ligne",
        organisation="Assurance maladie")
    add("nadia.haddad@demo.test", TrainingKind.CCP_REMN, 500, organisation="Afpa")
    add("coordination@demo.test", TrainingKind.CCP_REMN, 2000, organisation="Afpa", certificate=False)
    session.flush()
    services.send_reminders(session, today=today)  # the daily job: reminders, and Inès's expiry reported
