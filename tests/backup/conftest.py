"""Scratch databases for the backup tests: real, committed, migrated databases of the backend under
test (temporary SQLite files, or dedicated PostgreSQL databases dropped afterwards)."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation import create_app
from mediation.extensions import configure_sqlite
from mediation.synth import SynthOptions, load
from mediation.types import local_today
from tests.conftest import database_url, is_postgres


def _admin_engine(base: sa.URL) -> sa.Engine:
    return sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")


def _drop_postgres(base: sa.URL, name: str) -> None:
    admin = _admin_engine(base)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _migrate(url: sa.URL, instance_path):
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
        "SECRET_KEY": "test-secret", "MEDIATION_ENV": "test", "MEDIATION_OUTBOX_DIR": str(instance_path / "outbox"),
    })
    with app.app_context():
        from flask_migrate import upgrade

        from mediation.extensions import db

        upgrade()
        db.engine.dispose()
    return app


class Scratch:
    """One scratch database: its URL, an engine, and an app bound to it (for the CLI)."""

    def __init__(self, url: sa.URL, app) -> None:
        self.url = url
        self.app = app
        self.engine = sa.create_engine(url)
        configure_sqlite(self.engine)

    def fill(self, accompaniments: int = 600, seed: int = 3) -> None:
        """Synthetic data, committed (one audited load), plus a few audit events of their own."""
        from mediation.audit.services import record

        with Session(self.engine) as session:
            load(session, SynthOptions(accompaniments=accompaniments, seed=seed, territories=2, months=6,
                                       end=local_today().replace(day=1) - timedelta(days=1)))
            for n in range(3):
                record(session, "structure.updated", object_type="structures", object_id=n + 1,
                       details={"fields": ["horaires"]})
            session.commit()


WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


@pytest.fixture(scope="session")
def scratch_template(tmp_path_factory):
    """A migrated, empty database that scratch databases are copied from (migrations run once)."""
    folder = tmp_path_factory.mktemp("scratch")
    if is_postgres():
        base = sa.engine.make_url(database_url())
        name = f"mediation_scratch_{WORKER}_template"
        _drop_postgres(base, name)
        admin = _admin_engine(base)
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        _migrate(base.set(database=name), folder)
        yield name
        _drop_postgres(base, name)
    else:
        template = folder / "template.sqlite3"
        _migrate(sa.engine.make_url(f"sqlite:///{template}"), folder)
        yield template


@pytest.fixture
def scratch(tmp_path, scratch_template):
    made: list[Scratch] = []
    base = sa.engine.make_url(database_url()) if is_postgres() else None

    def make(name: str) -> Scratch:
        if base is not None:
            database = f"mediation_scratch_{WORKER}_{name}"
            _drop_postgres(base, database)
            admin = _admin_engine(base)
            with admin.connect() as conn:
                conn.execute(sa.text(f'CREATE DATABASE "{database}" TEMPLATE "{scratch_template}"'))
            admin.dispose()
            url = base.set(database=database)
        else:
            url = sa.engine.make_url(f"sqlite:///{tmp_path / name}.sqlite3")
            shutil.copyfile(scratch_template, url.database)
        app = create_app({
            "TESTING": True, "SQLALCHEMY_DATABASE_URI": url.render_as_string(hide_password=False),
            "SECRET_KEY": "test-secret", "MEDIATION_ENV": "test", "MEDIATION_OUTBOX_DIR": str(tmp_path / "outbox"),
        })
        scratch = Scratch(url, app)
        made.append(scratch)
        return scratch

    yield make
    for scratch in made:
        scratch.engine.dispose()
        with scratch.app.app_context():
            from mediation.extensions import db

            db.engine.dispose()
        if base is not None:
            _drop_postgres(base, scratch.url.database)
