"""Synthetic data loaded into the test's own transaction (rolled back at the end)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.synth import SynthOptions, load
from mediation.synth.generator import COLUMNS, TABLES
from mediation.types import local_today

# A fixed calendar, ending before today so that the services accept dates inside it.
END = local_today().replace(day=1) - timedelta(days=1)


@pytest.fixture
def synth(session):
    """``synth(n, seed=…, **options)`` loads ``n`` accompaniments and returns the report."""

    def run(accompaniments: int = 1500, seed: int = 7, **options):
        options.setdefault("end", END)
        options.setdefault("months", 14)
        options.setdefault("territories", 2)
        return load(session, SynthOptions(accompaniments=accompaniments, seed=seed, **options))

    return run


def fingerprint(session) -> str:
    """A hash of every generated row, in key order (what "the same data" means)."""
    digest = hashlib.sha256()
    for table in TABLES:
        keys = ", ".join(c for c in COLUMNS[table] if c in ("id", "activity_id", "code"))
        for row in session.execute(sa.text(f"SELECT * FROM {table} ORDER BY {keys}")):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()
