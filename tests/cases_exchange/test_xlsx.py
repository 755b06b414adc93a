"""The streaming XLSX writer: a workbook that openpyxl (and so Excel and LibreOffice) reads back."""

from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook

from mediation.cases import xlsx


def test_column_letters():
    assert [xlsx.column_letter(i) for i in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]


def test_values_styles_and_sheets_read_back():
    output = io.BytesIO()
    with xlsx.Workbook(output) as book:
        with book.sheet("Activités & « bilan »") as sheet:
            sheet.row(["Titre"], xlsx.BOLD)
            sheet.row(["texte <&> \"cité\"", 42, 1.5, date(2025, 3, 15), datetime(2024, 2, 29, 10, 0), None, True,
                       "deux\nlignes", "  espaces ", "contrôle\x01\x0b"])
        with book.sheet("x" * 40) as sheet:
            sheet.row(["seconde feuille"])
    workbook = load_workbook(io.BytesIO(output.getvalue()))
    assert workbook.sheetnames == ["Activités & « bilan »", "x" * 31]
    first = workbook.worksheets[0]
    assert first["A1"].value == "Titre" and first["A1"].font.b
    row = [c.value for c in first[2]]
    assert row[:5] == ["texte <&> \"cité\"", 42, 1.5, datetime(2025, 3, 15), datetime(2024, 2, 29)]
    assert first["D2"].number_format == "dd/mm/yyyy"
    assert row[5] is None and row[6] is True
    assert row[7:] == ["deux\nlignes", "  espaces ", "contrôle"]
    assert workbook.worksheets[1]["A1"].value == "seconde feuille"


def test_repeated_texts_keep_their_own_style_and_rows(monkeypatch):
    """The XML of a text is built once per sheet and style: the same text in a bold row, a plain row
    and a wrapped one keeps each row's style, and texts past the kept ones are still written."""
    monkeypatch.setattr(xlsx, "_TEXTS_KEPT", 3)
    output = io.BytesIO()
    labels = ["Accompagnement individuel", " Lieu ", "a <b> & c", "deux\nlignes", "cinquième", "sixième"]
    with xlsx.Workbook(output) as book:
        with book.sheet("Activités") as sheet:
            sheet.row(labels, xlsx.BOLD)
            for _ in range(3):
                sheet.row(labels)
            sheet.row(labels, xlsx.WRAP)
        with book.sheet("Suite") as sheet:
            sheet.row(labels)
    workbook = load_workbook(io.BytesIO(output.getvalue()))
    first, second = workbook.worksheets
    for number in range(1, 6):
        assert [c.value for c in first[number]] == labels
    assert all(c.font.b for c in first[1]) and not any(c.font.b for row in first.iter_rows(min_row=2) for c in row)
    assert all(c.alignment.wrap_text for c in first[5]) and not any(c.alignment.wrap_text for c in first[4])
    assert [c.value for c in second[1]] == labels and not any(c.font.b for c in second[1])
