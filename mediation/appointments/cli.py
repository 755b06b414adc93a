"""``flask --app mediation rendez-vous …``: the appointments' commands (registered in mediation/cli.py)."""

from __future__ import annotations

import click

from mediation.appointments import services
from mediation.extensions import db


@click.group("rendez-vous")
def appointments_group() -> None:
    """Rendez-vous dans les lieux."""


@appointments_group.command("rappels")
def reminders_command() -> None:
    """Envoie le rappel de la veille aux personnes qui ont rendez-vous demain (une fois par rendez-vous)."""
    count = services.send_reminders(db.session)
    db.session.commit()
    click.echo(f"{count} rappel{'s' if count > 1 else ''} envoyé{'s' if count > 1 else ''}.")
