"""Helpers for the directory tests: valid SIRET numbers, national-schema CSV documents, audit
lookups and a query counter."""

from __future__ import annotations

import csv
import io
from itertools import count

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.directory.national_schema import CSV_HEADER


def siret_with_key(first13: str) -> str:
    """Complete 13 digits with the Luhn key digit that makes a valid SIRET."""
    for last in "0123456789":
        candidate = first13 + last
        total = 0
        for position, char in enumerate(reversed(candidate)):
            digit = int(char) * (2 if position % 2 else 1)
            total += digit - 9 if digit > 9 else digit
        if total % 10 == 0:
            return candidate
    raise AssertionError("unreachable")


@pytest.fixture
def new_siret():
    numbers = count(1)
    return lambda: siret_with_key(f"{880000000000 + next(numbers):013d}")


def csv_document(rows: list[dict], header=CSV_HEADER) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(header), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return buffer.getvalue().encode()


def parse_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture
def events(session):
    """``events("structure.created")``: audit events of that action, oldest first."""

    def find(action: str) -> list[AuditEvent]:
        return session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()

    return find
