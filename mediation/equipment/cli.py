"""``flask --app mediation equipment relances``: the loan reminders due today (run daily, e.g. from
cron; the same work as the ``equipment.reminders`` job). Registered in mediation/cli.py."""

from __future__ import annotations

import click

from mediation.extensions import db


@click.group("equipment")
def equipment_group() -> None:
    """Matériel prêté et donné."""


@equipment_group.command("relances")
def reminders_command() -> None:
    """Envoie les rappels des prêts dont la date de retour approche ou est dépassée."""
    from mediation.equipment.services import REMIND_BEFORE_DAYS, send_reminders

    counts = send_reminders(db.session)
    db.session.commit()
    click.echo(f"{counts['avant_echeance']} rappel(s) avant la date de retour ({REMIND_BEFORE_DAYS} jours avant), "
               f"{counts['en_retard']} rappel(s) de retard.")
