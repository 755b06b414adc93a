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
