"""Migration 0036 on a real database: the tables the statistics read through index-only scans get
the autovacuum storage parameters the models declare (PostgreSQL), so that autovacuum keeps their
visibility map current; the downgrade takes them off. SQLite has no such parameters: both
directions run and change nothing."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.extensions import db
from mediation.types import INDEX_ONLY_AUTOVACUUM
from tests.conftest import is_postgres
from tests.directory.test_migration_0019 import migration_app

TABLES = ("activity_rollups", "activity_thematique_rollups", "beneficiary_month_rollups", "anonymous_profile_rollups",
          "activity_profile_rollups", "coop_rollups", "coop_person_rollups", "beneficiaries", "participations")


def _options(conn, table: str) -> dict[str, str]:
    """The table's storage parameters on PostgreSQL (``pg_class.reloptions``); {} on SQLite."""
    if not is_postgres():
        return {}
    found = conn.scalar(sa.text("SELECT reloptions FROM pg_class WHERE oid = CAST(:t AS regclass)"), {"t": table})
    return dict(option.split("=", 1) for option in found or [])


def test_declared_on_the_index_only_tables():
    # The models declare the same parameters the migration sets, on exactly these tables.
    declared = {name for name, table in db.metadata.tables.items()
                if table.dialect_options["postgresql"]["with"] == dict(INDEX_ONLY_AUTOVACUUM)}
    assert declared == set(TABLES)


def test_autovacuum_parameters_set_and_reset(tmp_path):
    from flask_migrate import downgrade, upgrade

    with migration_app(tmp_path):
        upgrade(revision="0035")
        with db.engine.begin() as conn:
            assert all(_options(conn, table) == {} for table in TABLES)
        upgrade(revision="0036")
        with db.engine.begin() as conn:
            for table in TABLES:
                assert _options(conn, table) == (dict(INDEX_ONLY_AUTOVACUUM) if is_postgres() else {}), table
            if is_postgres():  # and only there: the other tables keep PostgreSQL's defaults
                assert _options(conn, "activities") == {}
        downgrade(revision="0035")
        with db.engine.begin() as conn:
            assert all(_options(conn, table) == {} for table in TABLES)
        upgrade()
