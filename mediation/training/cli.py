"""``flask --app mediation formations …``: the daily job of the training records (run it from cron;
registered in mediation/cli.py)."""

from __future__ import annotations

import click

from mediation.extensions import db


@click.group("formations")
def training_group() -> None:
    """Formations : rappels avant expiration et habilitations expirées."""


@training_group.command("rappels")
def reminders_command() -> None:
    """Rappelle aux personnels leurs formations qui expirent dans les 60 jours et signale à la
    coordination les habilitations d'aidant expirées."""
    from mediation.training.services import send_reminders

    result = send_reminders(db.session)
    db.session.commit()
    click.echo(f"{result['rappels']} rappel(s) d'expiration envoyé(s) ; {result['habilitations_expirees']} "
               "habilitation(s) d'aidant expirée(s) signalée(s) à la coordination.")
