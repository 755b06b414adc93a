"""``flask --app mediation evaluation relances``: schedule the follow-up surveys that are due to
be created (run daily, e.g. from cron); ``flask --app mediation report``: see
:mod:`mediation.evaluation.report`."""

from __future__ import annotations

import click

from mediation.extensions import db


@click.group("evaluation")
def evaluation_group() -> None:
    """Évaluation d'impact : relances, rapports."""


@evaluation_group.command("relances")
@click.option("--delai", "delay", type=int, default=None,
              help="Délai en jours après la fin du parcours ou la clôture (90 par défaut, ou "
                   "MEDIATION_FOLLOW_UP_DELAY_DAYS).")
def schedule_command(delay: int | None) -> None:
    """Crée les relances des dossiers clos ou dont le parcours est terminé."""
    from mediation.evaluation.services import schedule_follow_ups

    count = schedule_follow_ups(db.session, delay_days=delay)
    db.session.commit()
    click.echo(f"{count} relance(s) programmée(s).")
