"""``flask --app mediation rollups rebuild|check``: maintain the statistics rollups."""

from __future__ import annotations

import time

import click

from mediation.extensions import db


@click.group("rollups")
def rollups_group() -> None:
    """Agrégats statistiques pré-calculés (tableaux de bord)."""


@rollups_group.command("rebuild")
def rebuild_command() -> None:
    """Recalcule entièrement les agrégats à partir des activités (après un chargement en masse)."""
    from mediation.stats import rollups

    started = time.perf_counter()
    counts = rollups.rebuild(db.session)
    db.session.commit()
    for table, count in counts.items():
        click.echo(f"{table:<30} {count:>12,}".replace(",", " "))
    click.echo(f"Agrégats recalculés en {time.perf_counter() - started:.1f} s.")


@rollups_group.command("check")
def check_command() -> None:
    """Compare les agrégats aux activités ; échoue s'ils divergent."""
    from mediation.stats import rollups

    found = rollups.differences(db.session)
    db.session.rollback()
    if not found:
        click.echo("Agrégats exacts : identiques au calcul direct sur les activités.")
        return
    for table, rows in found.items():
        click.echo(f"{table} : {len(rows)} écart(s), par exemple {rows[0]}")
    raise click.ClickException("Agrégats inexacts : lancez « flask --app mediation rollups rebuild ».")
