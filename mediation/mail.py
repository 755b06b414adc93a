"""Outgoing e-mail. In development and tests, messages go to an outbox directory (one .eml file
each) and to ``app.extensions['outbox']``; nothing leaves the machine."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from pathlib import Path

from flask import current_app

from mediation.types import utcnow

log = logging.getLogger("mediation.mail")


def send_mail(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MEDIATION_MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    current_app.extensions.setdefault("outbox", []).append(message)
    outbox = Path(current_app.config["MEDIATION_OUTBOX_DIR"])
    if not current_app.testing:
        outbox.mkdir(parents=True, exist_ok=True)
        name = f"{utcnow():%Y%m%dT%H%M%S%f}.eml"
        (outbox / name).write_bytes(bytes(message))
        log.info("mail written to outbox: %s", name)  # no address, no content in logs
    return message
