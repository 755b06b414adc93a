"""Migration 0033 on a real database: the rollups' primary keys carry their summed columns on
PostgreSQL (``INCLUDE``: the dashboards read them from the index alone), same key and same rows on
both engines, an upsert still meets the key, and the downgrade gives the plain keys back."""

from __future__ import annotations

import sqlalchemy as sa

from tests.conftest import is_postgres
from tests.directory.test_migration_0019 import migration_app

TABLES = {
    "activity_thematique_rollups": ["activities", "accompaniments"],
    "activity_profile_rollups": ["activities", "accompaniments", "autonomie_given", "materiel_given"],
    "beneficiary_month_rollups": ["accompaniments"],
    "anonymous_profile_rollups": ["accompaniments"],
}


def _included(conn, table: str) -> list[str]:
    """The INCLUDE columns of the table's primary key index (PostgreSQL), from its definition."""
    definition = conn.scalar(sa.text(
        "SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = CAST(:t AS regclass) AND indisprimary"),
        {"t": table})
    _, _, included = definition.partition(" INCLUDE (")
    return [name.strip() for name in included.rstrip(")").split(",")] if included else []


def _key(conn, table: str) -> list[str]:
    return sa.inspect(conn).get_pk_constraint(table)["constrained_columns"]


def test_rollup_keys_carry_their_sums_and_come_back(tmp_path):
    from flask_migrate import downgrade, upgrade

    from mediation.extensions import db

    with migration_app(tmp_path):
        upgrade(revision="0032")
        with db.engine.begin() as conn:
            keys = {table: _key(conn, table) for table in TABLES}
            conn.execute(sa.text(
                "INSERT INTO activity_thematique_rollups (structure_id, month, mediator_id, type, code, activities, "
                "accompaniments) VALUES (1, '2026-01-01', 2, 'individuel', 'email', 3, 4)"))
        upgrade(revision="0033")
        with db.engine.begin() as conn:
            assert {table: _key(conn, table) for table in TABLES} == keys
            if is_postgres():
                assert {table: _included(conn, table) for table in TABLES} == TABLES
            # The key still decides an upsert (the rollups are kept that way when an activity is logged).
            conn.execute(sa.text(
                "INSERT INTO activity_thematique_rollups (structure_id, month, mediator_id, type, code, activities, "
                "accompaniments) VALUES (1, '2026-01-01', 2, 'individuel', 'email', 1, 2) ON CONFLICT "
                "(structure_id, month, mediator_id, type, code) DO UPDATE SET activities = "
                "activity_thematique_rollups.activities + excluded.activities, accompaniments = "
                "activity_thematique_rollups.accompaniments + excluded.accompaniments"))
            assert conn.execute(sa.text(
                "SELECT activities, accompaniments FROM activity_thematique_rollups")).all() == [(4, 6)]
        downgrade(revision="0032")
        with db.engine.begin() as conn:
            assert {table: _key(conn, table) for table in TABLES} == keys
            if is_postgres():
                assert all(_included(conn, table) == [] for table in TABLES)
            assert conn.execute(sa.text(
                "SELECT activities, accompaniments FROM activity_thematique_rollups")).all() == [(4, 6)]
        upgrade()
