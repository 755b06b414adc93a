"""Helpers shared by the tests (plain functions; the factories are fixtures in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

# The test fixture wraps each test in savepoints; those statements are not the page's queries.
_FIXTURE_STATEMENTS = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@contextmanager
def count_queries(engine: sa.Engine | None = None) -> Iterator[list[str]]:
    """``with count_queries() as statements:`` collects the SQL statements run inside the block on
    ``engine`` (the application's engine by default), the fixture's savepoints left out."""
    if engine is None:
        from mediation.extensions import db

        engine = db.engine
    statements: list[str] = []

    def listener(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(_FIXTURE_STATEMENTS):
            statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)
