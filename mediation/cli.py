"""Command-line entry points: ``flask --app mediation <command>``."""

from __future__ import annotations

import os
import secrets

import click
from flask import Flask, current_app

from mediation.extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(verify_audit_command)
    app.cli.add_command(worker_command)
    app.cli.add_command(jobs_recover_command)
    app.cli.add_command(audit_group)
    from mediation.mandates.cli import mandates_group

    app.cli.add_command(mandates_group)
    from mediation.evaluation.cli import evaluation_group
    from mediation.evaluation.report import report_command

    app.cli.add_command(evaluation_group)
    app.cli.add_command(report_command)
    from mediation.backup import backup_command, restore_command
    from mediation.stats.cli import rollups_group
    from mediation.synth.cli import synth_command

    for command in (synth_command, rollups_group, backup_command, restore_command):
        app.cli.add_command(command)


@click.command("demo")
@click.option("--reset/--no-reset", default=True, help="Vider la base de démonstration avant de la remplir.")
def demo_command(reset: bool) -> None:
    """Charge les données de démonstration (métropole, structures, comptes de chaque rôle)."""
    from mediation.demo import load_demo

    if current_app.config["MEDIATION_ENV"] == "production":
        raise click.ClickException("Refusé : la démonstration ne se charge pas sur une configuration de production.")
    password = os.environ.get("MEDIATION_DEMO_PASSWORD") or secrets.token_urlsafe(12)
    totp_secret = os.environ.get("MEDIATION_DEMO_TOTP_SECRET") or None
    accounts = load_demo(db.session, password=password, totp_secret=totp_secret, reset=reset)
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


@click.command("verify-audit")
def verify_audit_command() -> None:
    """Vérifie la chaîne d'empreintes du journal d'audit."""
    from mediation.audit.services import verify_chain

    check = verify_chain(db.session)
    if check.ok:
        click.echo(f"Journal d'audit intègre : {check.checked} évènements vérifiés.")
    else:
        raise click.ClickException(f"Journal d'audit altéré à l'évènement n° {check.broken_at}.")


@click.group("audit")
def audit_group() -> None:
    """Journal d'audit."""


@audit_group.command("verify")
def audit_verify_command() -> None:
    """Vérifie la chaîne d'empreintes du journal d'audit (même chose que « verify-audit »)."""
    verify_audit_command.callback()


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
    queue = Queue(current_app.config.get("JOBS_QUEUE", "mediation"), connection=connection)
    Worker([queue], connection=connection).work(burst=burst)


@click.command("jobs-recover")
@click.option("--minutes", default=10, show_default=True)
def jobs_recover_command(minutes: int) -> None:
    """Marque en échec (donc relançables) les tâches dont le worker s'est arrêté."""
    from mediation.jobs.services import recover_stalled

    count = recover_stalled(db.session, minutes)
    db.session.commit()
    click.echo(f"{count} tâche(s) interrompue(s) marquée(s) en échec.")
