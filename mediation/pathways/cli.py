"""``flask --app mediation pathways …``: the pathways' commands (registered in mediation/cli.py)."""

from __future__ import annotations

import click

from mediation.extensions import db
from mediation.pathways import referrals


@click.group("pathways")
def pathways_group() -> None:
    """Parcours et orientations."""


@pathways_group.command("orientations-echues")
def expire_command() -> None:
    """Marque « non honorée » les orientations dont le délai (MEDIATION_REFERRAL_DELAY_DAYS) est passé."""
    count = referrals.expire_overdue(db.session)
    db.session.commit()
    click.echo(f"{count} orientation{'s' if count > 1 else ''} marquée{'s' if count > 1 else ''} non honorée"
               f"{'s' if count > 1 else ''} (délai : {referrals.delay_days()} jours).")
