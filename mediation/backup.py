"""Backups and restores of the whole database, with a manifest that makes restores self-checking.

- PostgreSQL: ``pg_dump --format=custom``; restore replaces the ``public`` schema in ONE
  transaction (``pg_restore`` piped into ``psql --single-transaction``): on any error nothing
  changes.
- SQLite: the online backup API of ``sqlite3`` (consistent copy while the application runs);
  restore copies the backup into the live file with the same API, atomically.

Next to ``PATH`` a manifest ``PATH.manifest.json`` records the number of rows of every table, the
schema revision and the last hash of the audit chain. After a restore, the same figures are read
back from the database and compared with the manifest, and the audit chain is verified.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from mediation.audit.services import verify_chain


class BackupError(Exception):
    """A clear French message; nothing was changed."""


@dataclass
class Snapshot:
    """What a database holds, in figures that a restore must reproduce exactly."""

    counts: dict[str, int] = field(default_factory=dict)
    revision: str | None = None
    audit_events: int = 0
    audit_last_hash: str | None = None

    def as_dict(self) -> dict:
        return {"counts": self.counts, "revision": self.revision, "audit_events": self.audit_events,
                "audit_last_hash": self.audit_last_hash}


@dataclass
class RestoreResult:
    snapshot: Snapshot
    expected: Snapshot | None
    chain_ok: bool
    chain_checked: int
    chain_broken_at: int | None = None

    @property
    def matches(self) -> bool:
        return self.expected is None or self.expected.as_dict() == self.snapshot.as_dict()


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def snapshot(engine: sa.Engine) -> Snapshot:
    """Row counts of every table (the schema as it is in the database), revision, audit chain head."""
    with engine.connect() as connection:
        names = sorted(sa.inspect(connection).get_table_names())
        counts = {name: connection.scalar(sa.select(sa.func.count()).select_from(sa.table(name)))
                  for name in names if not name.startswith("sqlite_")}
        revision = None
        if "alembic_version" in names:
            revision = connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
        last_hash = None
        if "audit_events" in names:
            last_hash = connection.scalar(sa.text(  # any revision: the newest sealed event
                "SELECT hash FROM audit_events WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1"))
    return Snapshot(counts=counts, revision=revision, audit_events=counts.get("audit_events", 0),
                    audit_last_hash=last_hash)


# --- PostgreSQL ---------------------------------------------------------------------------------

def _libpq(url: sa.URL) -> tuple[str, dict]:
    """A libpq connection string without the password, and the environment that carries it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"L'outil PostgreSQL « {name} » est introuvable (paquet postgresql-client).")
    return found


def _run(command: list[str], env: dict, what: str) -> subprocess.CompletedProcess:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} a échoué : {result.stderr.strip()[-800:]}")
    return result


def _pg_backup(url: sa.URL, target: Path) -> None:
    dsn, env = _libpq(url)
    _run([_tool("pg_dump"), "--format=custom", "--compress=6", f"--file={target}", f"--dbname={dsn}"], env,
         "pg_dump")
    _run([_tool("pg_restore"), "--list", str(target)], env, "La relecture de la sauvegarde (pg_restore --list)")


def _pg_restore(url: sa.URL, source: Path) -> None:
    dsn, env = _libpq(url)
    _run([_tool("pg_restore"), "--list", str(source)], env,
         "Ce fichier n'est pas une sauvegarde PostgreSQL lisible, rien n'a été modifié ; pg_restore --list")
    with tempfile.TemporaryFile() as dump_errors, subprocess.Popen(  # noqa: S603 - fixed arguments
            [_tool("pg_restore"), "--no-owner", "--no-privileges", "--file=-", str(source)],
            stdout=subprocess.PIPE, stderr=dump_errors, env=env) as dump:
        load = subprocess.run(
            [_tool("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction",
             f"--dbname={dsn}", "--command=SET lock_timeout = '15s'",
             "--command=DROP SCHEMA public CASCADE", "--command=CREATE SCHEMA public", "--file=-"],
            stdin=dump.stdout, capture_output=True, text=True, env=env, check=False)
        dump.stdout.close()
        dump.wait()
        dump_errors.seek(0)
        dump_message = dump_errors.read().decode(errors="replace").strip()
    if dump.returncode != 0:
        raise BackupError(f"pg_restore a échoué, rien n'a été modifié : {dump_message[-800:]}")
    if load.returncode != 0:
        raise BackupError(f"La restauration a échoué, rien n'a été modifié : {load.stderr.strip()[-800:]}")


# --- SQLite -------------------------------------------------------------------------------------

def _sqlite_file(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("Une base SQLite en mémoire ne se sauvegarde pas.")
    return Path(url.database)


def _sqlite_backup(url: sa.URL, target: Path) -> None:
    source = sqlite3.connect(_sqlite_file(url))
    try:
        destination = sqlite3.connect(target)
        try:
            source.backup(destination)
            check = destination.execute("PRAGMA integrity_check").fetchone()[0]
            destination.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            destination.close()
    finally:
        source.close()
    if check != "ok":
        raise BackupError(f"La copie est incohérente ({check}).")


def _sqlite_restore(url: sa.URL, source: Path) -> None:
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        try:
            check = backup.execute("PRAGMA integrity_check").fetchone()[0]
            tables = {row[0] for row in backup.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as error:
            raise BackupError(f"Ce fichier n'est pas une sauvegarde SQLite lisible ({error}) : "
                              "rien n'a été modifié.") from None
        if check != "ok":
            raise BackupError(f"La sauvegarde est corrompue ({check}) : rien n'a été modifié.")
        if "alembic_version" not in tables or "audit_events" not in tables:
            raise BackupError("Ce fichier n'est pas une sauvegarde de cette application : rien n'a été modifié.")
        live = sqlite3.connect(_sqlite_file(url), timeout=15)
        try:
            backup.backup(live)
        finally:
            live.close()
    finally:
        backup.close()


# --- entry points -------------------------------------------------------------------------------

def backup_database(engine: sa.Engine, path: Path) -> Snapshot:
    """Write a consistent backup of ``engine``'s database to ``path`` (atomically: a partial file
    never replaces a good one) and its manifest."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    figures = snapshot(engine)
    try:
        if engine.dialect.name == "postgresql":
            _pg_backup(engine.url, partial)
        else:
            _sqlite_backup(engine.url, partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    os.replace(partial, path)
    manifest = {"format": 1, "dialect": engine.dialect.name, "created_at": datetime.now(UTC).isoformat(),
                **figures.as_dict()}
    manifest_path(path).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return figures


def read_manifest(path: Path) -> tuple[str | None, Snapshot | None]:
    file = manifest_path(Path(path))
    if not file.exists():
        return None, None
    data = json.loads(file.read_text())
    return data.get("dialect"), Snapshot(counts=data["counts"], revision=data.get("revision"),
                                         audit_events=data.get("audit_events", 0),
                                         audit_last_hash=data.get("audit_last_hash"))


def restore_database(engine: sa.Engine, path: Path) -> RestoreResult:
    """Replace ``engine``'s database by the backup at ``path``, then check it against the manifest
    and verify the audit chain. Raises BackupError (nothing changed) when the file is unusable."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"Sauvegarde introuvable : {path}")
    dialect, expected = read_manifest(path)
    if dialect is not None and dialect != engine.dialect.name:
        raise BackupError(f"Cette sauvegarde vient d'une base {dialect}, la base configurée est "
                          f"{engine.dialect.name} : rien n'a été modifié.")
    engine.dispose()  # no pooled connection keeps the old schema or file open
    if engine.dialect.name == "postgresql":
        _pg_restore(engine.url, path)
    else:
        _sqlite_restore(engine.url, path)
    engine.dispose()
    figures = snapshot(engine)
    with Session(engine) as session:
        check = verify_chain(session)
    return RestoreResult(snapshot=figures, expected=expected, chain_ok=check.ok, chain_checked=check.checked,
                         chain_broken_at=check.broken_at)


# --- command line -------------------------------------------------------------------------------

def _engine():
    from mediation.extensions import db

    return db.engine


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Sauvegarde complète et cohérente de la base (pg_dump ou sauvegarde en ligne SQLite)."""
    try:
        figures = backup_database(_engine(), path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    size = path.stat().st_size
    click.echo(f"Sauvegarde écrite : {path} ({size / 1_048_576:.1f} Mio), manifeste : {manifest_path(path)}")
    click.echo(f"{len(figures.counts)} tables, {sum(figures.counts.values()):,} lignes, révision du schéma "
               f"{figures.revision}, journal d'audit : {figures.audit_events:,} évènements.".replace(",", " "))


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Ne pas demander de confirmation.")
def restore_command(path: Path, yes: bool) -> None:
    """Remplace TOUTE la base configurée par une sauvegarde, puis la vérifie (comptes, journal d'audit).

    Arrêtez l'application (ou mettez-la en maintenance) avant de restaurer."""
    if current_app.config["MEDIATION_ENV"] == "production" and not yes:
        click.confirm("La base de PRODUCTION va être remplacée par la sauvegarde. Continuer ?", abort=True)
    elif not yes:
        click.confirm("Toute la base configurée va être remplacée par la sauvegarde. Continuer ?", abort=True)
    try:
        result = restore_database(_engine(), path)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    figures = result.snapshot
    click.echo(f"Base restaurée : {len(figures.counts)} tables, {sum(figures.counts.values()):,} lignes, "
               f"révision du schéma {figures.revision}.".replace(",", " "))
    if result.expected is None:
        click.echo("Pas de manifeste à côté de la sauvegarde : comptes non comparés.")
    elif result.matches:
        click.echo("Vérification : comptes par table et tête du journal d'audit identiques au manifeste.")
    else:
        differing = sorted(k for k in set(figures.counts) | set(result.expected.counts)
                           if figures.counts.get(k) != result.expected.counts.get(k))
        raise click.ClickException(f"La base restaurée diffère du manifeste (tables : {', '.join(differing) or '—'}).")
    if not result.chain_ok:
        raise click.ClickException(f"Journal d'audit altéré à l'évènement n° {result.chain_broken_at}.")
    click.echo(f"Journal d'audit intègre : {result.chain_checked:,} évènements vérifiés.".replace(",", " "))
    click.echo("Si la sauvegarde est plus ancienne que le code : flask --app mediation db upgrade")
