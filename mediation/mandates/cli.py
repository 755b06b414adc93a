"""``flask --app mediation mandates …``: the periodic jobs of mandates (run them daily from cron)."""

from __future__ import annotations

import click

from mediation.extensions import db


@click.group("mandates")
def mandates_group() -> None:
    """Mandats : notifications d'expiration et durée de conservation."""


@mandates_group.command("notify-expiring")
def notify_expiring_command() -> None:
    """Prévient les aidants des mandats de 6 ou 12 mois qui expirent dans les 30 jours."""
    from mediation.mandates.services import notify_expiring

    count = notify_expiring(db.session)
    db.session.commit()
    click.echo(f"{count} mandat(s) bientôt expiré(s) signalé(s) aux aidants de leur structure.")


@mandates_group.command("anonymise")
def anonymise_command() -> None:
    """Anonymise les mandats terminés depuis plus de 6 ans (durée de conservation écoulée)."""
    from mediation.mandates.services import anonymise_ended

    count = anonymise_ended(db.session)
    db.session.commit()
    click.echo(f"{count} mandat(s) anonymisé(s).")
