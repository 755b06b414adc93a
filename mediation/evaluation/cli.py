"""``flask --app mediation evaluation relances``: schedule the follow-up surveys that are due to
be created (run daily, e.g. from cron); ``flask --app mediation evaluation instantanes``: refresh
the dashboards kept by :mod:`mediation.evaluation.snapshots` (every 5 minutes, from cron);
``flask --app mediation report``: see
:mod:`mediation.evaluation.report`."""

from __future__ import annotations

import click

from mediation.extensions import db


@click.group("evaluation")
def evaluation_group() -> None:
    """Évaluation d'impact : relances, tableaux de bord gardés, rapports."""


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


@evaluation_group.command("instantanes")
def snapshots_command() -> None:
    """Recalcule les tableaux de bord gardés (nationaux, régionaux) consultés dans les dernières
    24 heures avant qu'ils n'expirent, et supprime ceux que personne ne consulte plus (à lancer
    toutes les 5 minutes, par exemple depuis cron)."""
    from mediation.evaluation.snapshots import refresh

    counts = refresh(db.session, after_each=db.session.commit)
    db.session.commit()
    click.echo(f"{counts['refreshed']} tableau(x) de bord recalculé(s), {counts['deleted']} supprimé(s).")
