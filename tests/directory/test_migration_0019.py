"""Migration 0019 on a real database: the single postal code of each commune is carried into
``postal_codes``, territory_id becomes nullable, and the downgrade gives the previous schema back."""

from __future__ import annotations

import os
from contextlib import contextmanager

import sqlalchemy as sa

from mediation import create_app
from tests.conftest import database_url, is_postgres


def _database(tmp_path) -> tuple[str, callable]:
    if not is_postgres():
        return f"sqlite:///{tmp_path / 'migration.sqlite3'}", lambda: None
    base = sa.engine.make_url(database_url())
    name = f"mediation_migration_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}".replace("-", "_")
    admin = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False), drop


@contextmanager
def migration_app(tmp_path):
    """An application on an empty database of its own (a SQLite file, or a PostgreSQL database
    dropped afterwards), inside its app context: for the tests that run migrations one by one."""
    from mediation.extensions import db

    url, drop = _database(tmp_path)
    try:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test-secret",
                          "MEDIATION_ENV": "test", "MEDIATION_OUTBOX_DIR": str(tmp_path / "outbox")})
        with app.app_context():
            yield app
            db.engine.dispose()
    finally:
        drop()


def test_single_postal_codes_are_carried_into_the_list(tmp_path):
    from flask_migrate import downgrade, upgrade

    from mediation.extensions import db

    with migration_app(tmp_path):
        upgrade(revision="0014")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO territories (id, name, kind, created_at) "
                                 "VALUES (1, 'Métropole', 'metropole', CURRENT_TIMESTAMP)"))
            conn.execute(sa.text("INSERT INTO communes (id, territory_id, insee_code, name, postal_code) VALUES "
                                 "(1, 1, '76540', 'Rouen', '76000'), (2, 1, '76108', 'Bonsecours', NULL)"))
        upgrade(revision="0019")
        with db.engine.begin() as conn:
            rows = conn.execute(sa.text("SELECT insee_code, postal_codes FROM communes ORDER BY id")).all()
            assert [(code, _json(codes)) for code, codes in rows] == [("76540", ["76000"]), ("76108", [])]
            conn.execute(sa.text("INSERT INTO communes (id, territory_id, insee_code, name, postal_code) "
                                 "VALUES (3, NULL, '29019', 'Brest', '29200')"))
        downgrade(revision="0014")
        with db.engine.begin() as conn:
            assert conn.execute(sa.text("SELECT insee_code FROM communes ORDER BY id")).scalars().all() == [
                "76540", "76108"]
        upgrade()


def _json(value):
    import json
    return json.loads(value) if isinstance(value, str) else value
