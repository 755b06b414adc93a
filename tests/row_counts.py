"""Row counts of every table, to check what a request left in the database (and nothing else)."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.extensions import db

# The audit journal's anchor is one row, rewritten at each seal: it says nothing of what a request
# added (its own tests are in tests/audit/test_anchor.py).
IGNORED = {"audit_anchor"}


def row_counts(session) -> dict[str, int]:
    session.expire_all()
    return {table.name: session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables if table.name not in IGNORED}


def added_rows(session, before: dict[str, int]) -> dict[str, int]:
    """The tables whose row count changed since ``before``, with the difference."""
    after = row_counts(session)
    return {name: after[name] - count for name, count in before.items() if after[name] != count}
