"""``flask --app mediation synth``: load national-scale synthetic data into the configured database."""

from __future__ import annotations

import click
from flask import current_app
from sqlalchemy.orm import Session

from mediation.extensions import db


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", " ")


@click.command("synth")
@click.option("--accompaniments", "-n", type=click.IntRange(1, 100_000_000), required=True,
              help="Nombre d'accompagnements (participations) à générer.")
@click.option("--seed", type=int, default=1, show_default=True, help="Graine : même graine, mêmes données.")
@click.option("--territories", type=click.IntRange(1, 101), default=None,
              help="Nombre de territoires (par défaut : un pour 50 000 accompagnements, au moins 2).")
@click.option("--months", type=click.IntRange(1, 120), default=24, show_default=True,
              help="Durée de l'historique en mois.")
@click.option("--end", "end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Dernier jour de l'historique (par défaut : fin du mois précédent).")
@click.option("--password", envvar="MEDIATION_SYNTH_PASSWORD", default=None,
              help="Mot de passe donné à tous les comptes générés (sinon ils ne peuvent pas se connecter).")
def synth_command(accompaniments: int, seed: int, territories: int | None, months: int, end, password: str | None):
    """Génère des données synthétiques réalistes à l'échelle nationale (territoires, structures,
    médiateurs, bénéficiaires, dossiers, activités) et les charge en masse."""
    from mediation.synth import SynthError, SynthOptions, load
    from mediation.synth.loader import sqlite_bulk_pragmas

    if current_app.config["MEDIATION_ENV"] == "production":
        raise click.ClickException("Refusé : pas de données synthétiques sur une configuration de production.")
    password_hash = None
    if password:
        from mediation.auth.services import hash_password

        password_hash = hash_password(password)
    options = SynthOptions(accompaniments=accompaniments, seed=seed, territories=territories, months=months,
                           end=end.date() if end else None, password_hash=password_hash)
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            sqlite_bulk_pragmas(connection.connection.driver_connection)
        session = Session(bind=connection)
        try:
            report = load(session, options, log=click.echo)
            session.commit()
        except SynthError as error:
            session.rollback()
            raise click.ClickException(str(error)) from None
        finally:
            session.close()
    click.echo("")
    click.echo(f"{'Table':<24} {'Lignes':>12}")
    for table, count in report.counts.items():
        click.echo(f"{table:<24} {_number(count):>12}")
    for table, count in report.rollup_counts.items():
        click.echo(f"{table:<24} {_number(count):>12}")
    click.echo("")
    for step, seconds in report.timings.items():
        click.echo(f"{step:<36} {seconds:8.1f} s")
    total = report.seconds
    click.echo(f"{'total':<36} {total:8.1f} s")
    click.echo(f"Débit : {_number(report.rows / total)} lignes/s, "
               f"{_number(accompaniments / total)} accompagnements/s")
