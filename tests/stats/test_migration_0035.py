"""Migration 0035 on a real database: the rollups' (mediator, month) indexes carry the rest of the
cell on PostgreSQL (``INCLUDE``), as the models declare them; same name and key columns on both
engines; the downgrade gives the plain indexes back."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.stats import models
from tests.conftest import is_postgres
from tests.directory.test_migration_0019 import migration_app

TABLES = ("activity_thematique_rollups", "beneficiary_month_rollups", "anonymous_profile_rollups",
          "activity_profile_rollups")


def _index(conn, table: str) -> tuple[list[str], list[str]]:
    """(key columns, INCLUDE columns on PostgreSQL) of the table's mediator index."""
    name = f"ix_{table}_mediator_month"
    key = next(i["column_names"] for i in sa.inspect(conn).get_indexes(table) if i["name"] == name)
    included = []
    if is_postgres():
        definition = conn.scalar(sa.text("SELECT pg_get_indexdef(CAST(:i AS regclass))"), {"i": name})
        _, _, rest = definition.partition(" INCLUDE (")
        included = [column.strip() for column in rest.rstrip(")").split(",")] if rest else []
    return key, included


def _declared(table: str) -> list[str]:
    index = next(i for i in models.db.metadata.tables[table].indexes if i.name == f"ix_{table}_mediator_month")
    return list(index.dialect_options["postgresql"]["include"])


def test_mediator_indexes_carry_the_cells_and_come_back(tmp_path):
    from flask_migrate import downgrade, upgrade

    from mediation.extensions import db

    with migration_app(tmp_path):
        upgrade(revision="0034")
        with db.engine.begin() as conn:
            assert all(_index(conn, table) == (["mediator_id", "month"], []) for table in TABLES)
        upgrade(revision="0035")
        with db.engine.begin() as conn:
            for table in TABLES:
                key, included = _index(conn, table)
                assert key == ["mediator_id", "month"]
                assert included == (_declared(table) if is_postgres() else [])
                assert included[:1] == (["structure_id"] if is_postgres() else [])
        downgrade(revision="0034")
        with db.engine.begin() as conn:
            assert all(_index(conn, table) == (["mediator_id", "month"], []) for table in TABLES)
        upgrade()
