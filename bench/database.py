"""Dedicated benchmark databases: created if missing, migrated with Alembic, filled by the synthetic
generator once (reused by later runs when they hold exactly the same load: size and seed)."""

from __future__ import annotations

import gc
import json
import resource
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from mediation import create_app
from mediation.config import ROOT, normalise_database_url

STATE_DIR = ROOT / "instance" / "bench"


@dataclass
class BenchDatabase:
    backend: str
    url: str
    accompaniments: int
    seed: int
    app: Flask
    synth: dict  # figures of the load (measured now, or by the run that made the database; {} if unknown here)
    reused: bool
    end: str


# The planner's cost of a random page read: 4 (PostgreSQL's default, spinning disks) or 1.1 (the usual
# setting on SSD storage, see docs/operations.md). Applied to the benchmark database only.
RANDOM_PAGE_COST = 1.1
# Memory of one sort or hash before it spills to disk: 32 MB (see docs/operations.md) rather than
# PostgreSQL's default 4 MB, with which the national profile of the people accompanied (68 000
# people at 1 million accompaniments) was grouped on disk in five batches.
WORK_MEM = "32MB"


def _postgres_reset(url: sa.URL, drop: bool) -> None:
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if drop:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
        exists = connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database})
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{url.database}"'))
        connection.execute(sa.text(f'ALTER DATABASE "{url.database}" SET random_page_cost = {float(RANDOM_PAGE_COST)}'))
        connection.execute(sa.text(f'ALTER DATABASE "{url.database}" SET work_mem = \'{WORK_MEM}\''))
    admin.dispose()


def _sqlite_reset(url: sa.URL, drop: bool) -> None:
    path = Path(url.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    if drop:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _app(url: str) -> Flask:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "MEDIATION_ENV": "development", "SECRET_KEY": "bench"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    gc.freeze()  # as wsgi.py does in each server process once the app is built
    return app


def _existing_load(app: Flask) -> dict | None:
    from mediation.extensions import db

    with app.app_context():
        events = db.session.execute(sa.text(
            "SELECT details FROM audit_events WHERE action = 'synth.loaded' ORDER BY id")).all()
        activities = db.session.scalar(sa.text("SELECT count(*) FROM activities"))
        db.session.rollback()
    if len(events) != 1:
        return None if activities == 0 and not events else {"unusable": True}
    details = events[0][0]
    return json.loads(details) if isinstance(details, str) else details


def prepare(backend: str, url: str, accompaniments: int, seed: int, *, fresh: bool = False) -> BenchDatabase:
    from mediation.synth import SynthOptions, load
    from mediation.synth.loader import sqlite_bulk_pragmas

    url = normalise_database_url(url)
    parsed = sa.engine.make_url(url)
    reset = _postgres_reset if backend == "postgresql" else _sqlite_reset
    reset(parsed, fresh)
    app = _app(url)
    state_file = STATE_DIR / f"{backend}-{accompaniments}-{seed}.json"
    existing = _existing_load(app)
    if (existing and not existing.get("unusable") and existing.get("accompaniments") == accompaniments
            and existing.get("seed") == seed):
        # The figures of the load live in this checkout's instance/ folder; a database holding the very
        # load asked for is reused without them (another clone or worktree made it): regenerating
        # 10 million accompaniments costs twenty minutes.
        figures = json.loads(state_file.read_text()) if state_file.exists() else {}
        print(f"# {backend} : base existante réutilisée ({accompaniments} accompagnements, graine {seed})"
              + ("" if figures else " ; chiffres de sa synthèse inconnus ici (fichier d'état absent)"), flush=True)
        return BenchDatabase(backend, url, accompaniments, seed, app, figures, True, existing.get("end"))
    if existing is not None:
        print(f"# {backend} : base à recréer", flush=True)
        with app.app_context():
            from mediation.extensions import db

            db.engine.dispose()
        reset(parsed, True)
        app = _app(url)
    print(f"# {backend} : génération de {accompaniments} accompagnements…", flush=True)
    from mediation.extensions import db

    with app.app_context():
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        with db.engine.connect() as connection:
            if backend == "sqlite":
                sqlite_bulk_pragmas(connection.connection.driver_connection)
            session = Session(bind=connection)
            report = load(session, SynthOptions(accompaniments=accompaniments, seed=seed),
                          log=lambda m: print(f"#   {m}", flush=True))
            session.commit()
            session.close()
        seconds = time.perf_counter() - started
        # The load's connection keeps its bulk settings (on SQLite a 256 MiB cache, no fsync): closed,
        # so that every measurement runs on connections set up as the application's are. (Reused, it
        # made the raw GROUP BY of the SQLite evaluation bench 1.7 × faster than on a fresh process.)
        db.engine.dispose()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {
        "seconds": seconds,
        "rows": report.rows,
        "rows_per_s": report.rows / seconds,
        "accompaniments_per_s": accompaniments / seconds,
        "steps": report.timings,
        "counts": report.counts,
        "rollup_counts": report.rollup_counts,
        "peak_rss_mb": rss_after / 1024,
        "rss_growth_mb": (rss_after - rss_before) / 1024,
    }
    state_file.write_text(json.dumps(figures, indent=2))
    end = _existing_load(app).get("end")
    return BenchDatabase(backend, url, accompaniments, seed, app, figures, False, end)
