"""Exports of the dashboard's tables — XLSX (openpyxl) and CSV, with the same figures — and the
open-data CSV of a territory's statistics per commune, suppression applied.

The spreadsheets hold numbers as numbers; a hidden (suppressed) cell holds its marker (« < 5 » or
« s ») as text, exactly as the dashboard and the PDF print it. Every file starts with the filters
and the method (threshold), so the figures can be traced back.
"""

from __future__ import annotations

import io
from datetime import date

from mediation.cases import xlsx
from mediation.evaluation.method import SECONDARY_LABEL, threshold_label
from mediation.evaluation.results import Cell, Dashboard, Figure, Table
from mediation.tabular import CsvWriter
from mediation.types import to_paris

FIGURE_COLUMNS = ["Code", "Indicateur", "Valeur", "Unité", "Numérateur", "Dénominateur", "IC 95 %", "Détail",
                  "Taux de réponse"]


def _value(cell: Cell | None):
    if cell is None:
        return None
    return cell.display if cell.hidden or cell.value is None else cell.value


def _figure_row(figure: Figure) -> list:
    value = figure.display if figure.mask or figure.value is None else figure.value
    return [figure.code, figure.label, value, figure.unit, _value(figure.numerator), _value(figure.denominator),
            figure.interval, figure.detail, figure.response]


def _table_rows(table: Table) -> list[list]:
    rows = [[table.category, *table.columns]]
    for row in table.rows + ([table.total] if table.total else []):
        rows.append([row.label, *[_value(c) for c in row.cells]])
    return rows


def header_rows(dashboard: Dashboard) -> list[list]:
    rows = [["Indicateurs d'impact — médiation numérique"], ["Filtres"]]
    rows += [[label, value] for label, value in dashboard.filters]
    rows += [["Produit le", to_paris(dashboard.generated_at).strftime("%d/%m/%Y à %H:%M")],
             ["Secret statistique", f"« 0 » : aucun ; « {threshold_label(dashboard.threshold)} » : effectif de 1 à "
                                    f"{dashboard.threshold - 1} ; « {SECONDARY_LABEL} » : valeur masquée pour "
                                    "qu'une petite valeur ne puisse pas être recalculée à partir de l'ensemble des "
                                    "tableaux publiés"], []]
    return rows


def dashboard_sheets(dashboard: Dashboard) -> list[tuple[str, list[list], set[int]]]:
    """(sheet name, rows, indexes of title rows) for each part of the dashboard."""
    sheets = [("Filtres", header_rows(dashboard) + [["Définitions"], ["Code", "Indicateur", "Famille", "Définition",
                                                                        "Numérateur", "Dénominateur", "Unité"]]
               + [[i.code, i.label, i.family_label, i.definition, i.numerator or "", i.denominator or "", i.unit]
                  for i in dashboard.definitions], {0, 1})]
    for section in dashboard.sections:
        rows: list[list] = []
        titles = set()
        if section.figures:
            titles.add(len(rows))
            rows.append(["Chiffres clés"])
            rows.append(FIGURE_COLUMNS)
            rows += [_figure_row(f) for f in section.figures]
            rows.append([])
        for table in section.tables:
            titles.add(len(rows))
            rows.append([table.title])
            rows += _table_rows(table)
            if table.note:
                rows.append([table.note])
            rows.append([])
        sheets.append((section.title.split(" :")[0][:31], rows, titles))
    return sheets


def dashboard_xlsx(dashboard: Dashboard) -> bytes:
    """The sheets of :func:`dashboard_sheets`, written by :mod:`mediation.cases.xlsx` (a national
    dashboard's 12 000 rows: openpyxl took a second; every string a text cell, never a formula)."""
    buffer = io.BytesIO()
    with xlsx.Workbook(buffer) as book:
        for name, rows, titles in dashboard_sheets(dashboard):
            with book.sheet(name, widths=(48, *[18] * 8)) as sheet:
                for index, row in enumerate(rows):
                    sheet.row(row, xlsx.BOLD if index in titles else xlsx.PLAIN)
    return buffer.getvalue()


def _decimal_comma(value: float) -> str:
    text = f"{value:.1f}".rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))
    return text.replace(".", ",")


def dashboard_csv(dashboard: Dashboard) -> str:
    """Every sheet one after the other (``;``, decimal comma, UTF-8 with BOM for spreadsheets)."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = CsvWriter(buffer, delimiter=";", lineterminator="\r\n", date_format="%d/%m/%Y",
                       float_format=_decimal_comma)
    for name, rows, _ in dashboard_sheets(dashboard):
        writer.writerow([f"== {name} =="])
        for row in rows:
            writer.writerow(row)
        writer.writerow([])
    return buffer.getvalue()


OPEN_DATA_COLUMNS = ["date_debut", "date_fin", "code_insee", "commune", "population", "nombre_structures",
                     "accompagnements", "beneficiaires_residents", "accompagnements_pour_1000_habitants",
                     "residents_accompagnes_pour_1000_habitants"]


def open_data_csv(dashboard: Dashboard, start: date, end: date) -> str:
    """Territory statistics per commune for open data: plain CSV (``,``, dot decimals, UTF-8),
    small cells suppressed like everywhere (« < 5 », « s »)."""
    table = dashboard.table("maillage.communes")
    buffer = io.StringIO()
    writer = CsvWriter(buffer, lineterminator="\n")
    writer.writerow(OPEN_DATA_COLUMNS)
    for row in table.rows if table else []:
        writer.writerow([start.isoformat(), end.isoformat(), row.key, row.label, *[_value(c) for c in row.cells]])
    return buffer.getvalue()
