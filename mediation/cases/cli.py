"""``flask --app mediation retention``: the retention of beneficiaries' data (registered in mediation/cli.py)."""

from __future__ import annotations

import click
from flask import current_app

from mediation.cases import retention
from mediation.extensions import db


@click.command("retention")
@click.option("--apply/--dry-run", default=False,
              help="--dry-run (par défaut) compte seulement ; --apply anonymise.")
@click.option("--months", type=int, default=None,
              help="Délai d'inactivité en mois (par défaut MEDIATION_RETENTION_MONTHS, sinon 24).")
def retention_command(apply: bool, months: int | None) -> None:
    """Anonymise les bénéficiaires sans activité depuis le délai de conservation (dossiers clos)."""
    months = months or retention.retention_months(current_app)
    report = retention.run_retention(db.session, months=months, apply=apply)
    cutoff = report.cutoff.date().strftime("%d/%m/%Y")
    if apply:
        db.session.commit()
        click.echo(f"Délai : {months} mois (sans activité depuis le {cutoff}). {report.anonymised} bénéficiaire(s) "
                   f"anonymisé(s), {report.case_notes_erased} note(s) de dossier et {report.activity_notes_erased} "
                   "note(s) d'accompagnement effacée(s).")
    else:
        click.echo(f"Délai : {months} mois (sans activité depuis le {cutoff}). {report.due} bénéficiaire(s) "
                   "seraient anonymisé(s). Rien n'a été modifié (--apply pour anonymiser).")
