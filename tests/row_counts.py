"""Row counts of every table, to check what a request left in the database (and nothing else)."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.extensions import db


def row_counts(session) -> dict[str, int]:
    session.expire_all()
    return {table.name: session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def added_rows(session, before: dict[str, int]) -> dict[str, int]:
    """The tables whose row count changed since ``before``, with the difference."""
    after = row_counts(session)
    return {name: after[name] - count for name, count in before.items() if after[name] != count}
