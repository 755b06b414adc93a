"""Command-line entry points: ``flask --app mediation <command>``."""

from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask import Flask, current_app

from mediation.extensions import db


def register(app: Flask) -> None:
    """The one registry of the command-line: every command of every package is added here (this
    module sits above all the domains, so it may import them; packages and blueprints register none)."""
    app.cli.add_command(demo_command)
    app.cli.add_command(verify_audit_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(jobs_recover_command)
    app.cli.add_command(snapshots_command)
    app.cli.add_command(audit_group)
    from mediation.badges.cli import badges_group
    from mediation.mandates.cli import mandates_group

    app.cli.add_command(badges_group)
    app.cli.add_command(mandates_group)
    from mediation.evaluation.cli import evaluation_group
    from mediation.evaluation.report import report_command

    app.cli.add_command(evaluation_group)
    app.cli.add_command(report_command)
    from mediation.appointments.cli import appointments_group
    from mediation.backup import backup_command, restore_command
    from mediation.cases.cli import retention_command
    from mediation.equipment.cli import equipment_group
    from mediation.pathways.cli import pathways_group
    from mediation.stats.cli import rollups_group
    from mediation.synth.cli import synth_command
    from mediation.training.cli import training_group

    for command in (synth_command, rollups_group, backup_command, restore_command, retention_command,
                    pathways_group, equipment_group, training_group, appointments_group):
        app.cli.add_command(command)


@click.command("demo")
@click.option("--reset/--no-reset", default=True, help="Vider la base de démonstration avant de la remplir.")
def demo_command(reset: bool) -> None:
    """Charge les données de démonstration (métropole, structures, comptes de chaque rôle)."""
    from mediation.demo import load_demo

    if current_app.config["MEDIATION_ENV"] == "production":
        raise click.ClickException("Refusé : la démonstration ne se charge pas sur une configuration de production.")
    password = current_app.config.get("MEDIATION_DEMO_PASSWORD") or secrets.token_urlsafe(12)
    totp_secret = current_app.config.get("MEDIATION_DEMO_TOTP_SECRET") or None
    accounts = load_demo(db.session, password=password, totp_secret=totp_secret, reset=reset)
    db.session.commit()
    # Planner statistics of the freshly loaded tables (as synth does): without them, PostgreSQL and
    # SQLite take every table for empty and pick nested loops that made the demo's statistics and
    # dashboards take seconds until autovacuum (or never, on SQLite) analysed them.
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    base = current_app.config["MEDIATION_PUBLIC_BASE_URL"]
    click.echo("")
    click.echo(f"Démonstration prête : {base}")
    click.echo(f"Mot de passe de tous les comptes : {password}")
    if totp_secret:
        click.echo("Double authentification : les comptes qui l'exigent sont enrôlés avec MEDIATION_DEMO_TOTP_SECRET.")
    else:
        click.echo("Double authentification : les comptes qui l'exigent l'activeront à la première connexion.")
    click.echo("")
    click.echo(f"{'Rôle':<34} Adresse e-mail")
    for role_label, email in accounts:
        click.echo(f"{role_label:<34} {email}")
    from mediation.carnet.demo import demo_wallet_lines

    for line in demo_wallet_lines():
        click.echo(line)
    click.echo("")


def _read_heads(values: tuple[str, ...]):
    """Each --head is an exported head line or a file of them (one per line, as appended daily by
    ``flask audit head >> FILE``); every head line found is checked."""
    from pathlib import Path

    from mediation.audit.services import Head

    heads = []
    for value in values:
        path = Path(value)
        text = path.read_text(encoding="utf-8") if "mediation-audit-head" not in value and path.is_file() else value
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if not lines:
            raise click.BadParameter(f"aucune tête de journal dans « {value} ».", param_hint="--head")
        for line in lines:
            try:
                heads.append(Head.parse(line))
            except ValueError as error:
                raise click.BadParameter(str(error), param_hint="--head") from error
    return heads


def _verify(heads: tuple[str, ...] = ()) -> None:
    from mediation.audit.services import verify_chain

    check = verify_chain(db.session, heads=_read_heads(heads))
    if check.broken_at is not None:
        raise click.ClickException(f"Journal d'audit altéré à l'évènement n° {check.broken_at}.")
    if check.problems:
        raise click.ClickException("Journal d'audit altéré.\n" + "\n".join(f"- {p}" for p in check.problems))
    extra = f", {len(heads)} tête(s) exportée(s) retrouvée(s)" if heads else ""
    click.echo(f"Journal d'audit intègre : {check.checked} évènements vérifiés, fin conforme à l'ancre{extra}.")


HEAD_HELP = ("Tête exportée par « flask audit head » (la ligne elle-même, ou un fichier de ces lignes) "
             "que le journal doit toujours contenir ; répétable.")


@click.command("verify-audit")
@click.option("--head", "heads", multiple=True, metavar="FICHIER|VALEUR", help=HEAD_HELP)
def verify_audit_command(heads: tuple[str, ...]) -> None:
    """Vérifie la chaîne d'empreintes du journal d'audit et sa fin (ancre signée)."""
    _verify(heads)


@click.group("audit")
def audit_group() -> None:
    """Journal d'audit."""


@audit_group.command("verify")
@click.option("--head", "heads", multiple=True, metavar="FICHIER|VALEUR", help=HEAD_HELP)
def audit_verify_command(heads: tuple[str, ...]) -> None:
    """Vérifie la chaîne d'empreintes du journal d'audit (même chose que « verify-audit »)."""
    _verify(heads)


@audit_group.command("head")
def audit_head_command() -> None:
    """Affiche la tête signée du journal (à exporter chaque jour hors de la base)."""
    from mediation.audit.services import current_head

    try:
        head = current_head(db.session)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(head.line())


@click.command("worker")
@click.option("--burst", is_flag=True, help="S'arrêter quand la file est vide.")
def worker_command(burst: bool) -> None:
    """Lance un worker RQ (REDIS_URL requis) qui exécute les tâches longues."""
    from redis import Redis
    from rq import Queue, Worker

    from mediation import worker as jobs_worker

    url = current_app.config.get("REDIS_URL")
    if not url:
        raise click.ClickException("REDIS_URL n'est pas défini : les tâches tournent dans le serveur web.")
    # Built once here, inherited by the process RQ forks for each job (see mediation/worker.py).
    jobs_worker.use_app(current_app._get_current_object())
    connection = Redis.from_url(url)
    queue = Queue(current_app.config["MEDIATION_JOBS_QUEUE"], connection=connection)
    Worker([queue], connection=connection).work(burst=burst)


@click.command("jobs-recover")
@click.option("--minutes", default=10, show_default=True)
def jobs_recover_command(minutes: int) -> None:
    """Marque en échec (donc relançables) les tâches dont le worker s'est arrêté."""
    from mediation.jobs.services import recover_stalled

    count = recover_stalled(db.session, minutes)
    db.session.commit()
    click.echo(f"{count} tâche(s) interrompue(s) marquée(s) en échec.")


@click.command("instantanes")
def snapshots_command() -> None:
    """Recalcule les tableaux de bord d'impact et les statistiques gardés (nationaux, régionaux)
    consultés dans les dernières 24 heures avant qu'ils n'expirent, et supprime ceux que personne
    ne consulte plus (à lancer toutes les 5 minutes, par exemple depuis cron)."""
    from mediation.evaluation import snapshots as evaluation
    from mediation.stats import snapshots as statistics

    refreshed = deleted = 0
    for domain in (evaluation, statistics):
        counts = domain.refresh(db.session, after_each=db.session.commit)
        db.session.commit()
        refreshed, deleted = refreshed + counts["refreshed"], deleted + counts["deleted"]
    click.echo(f"{refreshed} tableau(x) de bord recalculé(s), {deleted} supprimé(s).")
