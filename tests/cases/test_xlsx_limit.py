"""An export longer than a sheet (Excel's 1 048 576 rows) goes on to further sheets: no row lost."""

import openpyxl
import pytest

from mediation.cases import exports, xlsx


def _read(export):
    with exports.write_xlsx(export) as output:
        return openpyxl.load_workbook(output)


@pytest.mark.parametrize("table", ["Activites", None])
def test_rows_past_the_sheet_limit_continue_on_numbered_sheets(monkeypatch, table):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 6)
    rows = [[f"ligne {i}", i] for i in range(1, 11)]
    export = exports.Export(sheet="Activités anonymisées", block=[[exports.TITLE, "Informations export"], ["Total", 10]],
                            columns=["Libellé", "Numéro"], rows=iter(rows), filename="x", table=table)
    book = _read(export)
    assert book.sheetnames == ["Activités anonymisées", "Activités anonymisées (2)", "Activités anonymisées (3)"]
    data = []
    for index, sheet in enumerate(book.worksheets):
        values = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert len(values) <= 6
        header = values.index(["Libellé", "Numéro"])
        if index:
            assert values[0][0].startswith(f"Suite de la feuille « {book.sheetnames[index - 1]} »")
        if table:
            assert list(sheet.tables) == [table if index == 0 else f"{table}_{index + 1}"]
        data += values[header + 1:]
    assert data == rows


def test_a_sheet_exactly_full_opens_no_empty_continuation(monkeypatch):
    monkeypatch.setattr(xlsx, "MAX_ROWS", 4)
    export = exports.Export(sheet="Feuille", block=[], columns=["A"], rows=[[1], [2], [3]], filename="x")
    book = _read(export)
    assert book.sheetnames == ["Feuille"]
    assert [r[0] for r in book.active.iter_rows(values_only=True)] == ["A", 1, 2, 3]
