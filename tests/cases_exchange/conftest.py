"""Fixtures for imports, exports, duplicates, retention and the cases API: records created through
cases-core's real services, files built in memory, jobs run eagerly."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from mediation.cases import activities, policy
from mediation.cases.activities import ActivityInput, AnonymousCounters
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.types import local_today

YESTERDAY = local_today() - timedelta(days=1)


@pytest.fixture
def eager(app):
    app.config["MEDIATION_JOBS_BACKEND"] = "eager"
    yield
    app.config["MEDIATION_JOBS_BACKEND"] = None


@pytest.fixture
def log_activity(session, network):
    """Log an activity through cases-core's service (individual by default, for structure A)."""

    def log(user=None, type=ActivityType.INDIVIDUEL, **overrides):
        user = user or network.mediator
        structure = overrides.pop("structure", None) or network.structure_a
        values = dict(type=type, structure_id=structure.id, date=YESTERDAY, duration_min=45,
                      place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=structure.id,
                      thematiques=[Thematique.EMAIL.value])
        if type == ActivityType.COLLECTIF and "counters" not in overrides and "participant_ids" not in overrides:
            values["counters"] = AnonymousCounters(total=2)
        values.update(overrides)
        return activities.log_activity(session, user, ActivityInput(**values),
                                       visible_beneficiary=policy.beneficiary_loader(session, user))

    return log


def csv_bytes(rows: list[list], delimiter: str = ";", bom: bool = True) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode()


def xlsx_bytes(rows: list[list], sheet: str = "Feuille") -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    for row in rows:
        worksheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_xlsx(content: bytes) -> dict[str, list[list]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(content), read_only=True)
    sheets = {ws.title: [list(r) for r in ws.iter_rows(values_only=True)] for ws in workbook.worksheets}
    workbook.close()
    return sheets


def read_csv(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


def table_after_header(rows: list[list], first_column: str) -> tuple[list, list[list]]:
    """(header, data rows) of an export: the table starts at the row whose first cell is ``first_column``."""
    for index, row in enumerate(rows):
        if row and row[0] == first_column and len([c for c in row if c]) > 2:  # not the "Nom" of the block
            return row, [r for r in rows[index + 1:] if any(c not in (None, "") for c in r)]
    raise AssertionError(f"no table header starting with {first_column!r}")
