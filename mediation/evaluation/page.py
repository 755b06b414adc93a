"""The dashboard as the web page prints it: long tables (a row per structure, commune or mediator:
hundreds at a national scale) keep their most telling rows, and say how many are left out and
that the complete table is in the downloads (XLSX, CSV) — which, with the PDF report and the API,
keep every row (they are built from the :class:`Dashboard` itself, not from this copy).

Rows are only left out: no row is added (no « Autres » line, which would be a new aggregate from
which a hidden cell could be recomputed), and the order uses published values only (a hidden cell
sorts after the published ones, whatever its true count).
"""

from __future__ import annotations

from dataclasses import replace

from mediation.evaluation.method import fmt_number
from mediation.evaluation.results import Dashboard, Row, Table

# A table longer than LONG shows its first SHOWN rows; a few rows more are printed whole (leaving
# out less than a screen of rows would only send the reader to the download for nothing).
SHOWN = 25
LONG = 40


def _published(row: Row, column: int) -> tuple[int, float]:
    cell = row.cells[column] if column < len(row.cells) else None
    if cell is None or cell.hidden or cell.value is None:
        return (1, 0.0)
    return (0, -float(cell.value))


def trim_table(table: Table, shown: int = SHOWN, long: int = LONG) -> Table:
    """``table`` with at most ``shown`` rows when it has more than ``long``: the largest first on
    its first count column (the communes of the coverage table: the most populous first, a public
    figure); a series over months is printed whole (its order is time)."""
    if len(table.rows) <= long or table.chart == "line" or table.kind == "matrix":
        return table
    if table.code == "maillage.communes":
        column, words = 0, "les communes les plus peuplées"
    else:
        column = table.count_columns[0] if table.count_columns else 0
        words = f"les plus grandes valeurs de la colonne « {table.columns[column]} », valeurs masquées en dernier"
    ordered = sorted(table.rows, key=lambda r: _published(r, column))  # stable: ties keep the table's order
    return replace(table, rows=ordered[:shown], omitted=len(table.rows) - shown, shown=words)


def _quiet_last(commune) -> tuple:
    """The observatoire's rows that matter most: high need without a place nearby, then high need,
    then the most populous."""
    return (not commune.flagged, commune.level != "élevé", -(commune.population or 0))


def trim_observatoire(obs, shown: int = SHOWN, long: int = LONG):
    if obs is None or len(obs.rows) <= long:
        return obs
    keep = sorted(obs.rows, key=_quiet_last)[:shown]
    left = len(obs.rows) - len(keep)
    note = (f"Tableau limité à {shown} communes sur {fmt_number(len(obs.rows))} : d'abord celles de besoin élevé "
            f"sans lieu à proximité, puis de besoin élevé, puis les plus peuplées ; {fmt_number(left)} communes ne "
            "sont pas affichées ici. Toutes sont sur la carte ; leurs accompagnements et résidents accompagnés "
            "sont dans le tableau « Activité par commune » des téléchargements (XLSX, CSV), et le tableau complet "
            "de l'observatoire dans le rapport d'impact (PDF).")
    return replace(obs, table_rows=keep, table_note=f"{obs.table_note} {note}" if obs.table_note else note)


def page_dashboard(dashboard: Dashboard) -> Dashboard:
    """A copy of ``dashboard`` for the web page (the dashboard itself is left as it is)."""
    sections = [replace(s, tables=[trim_table(t) for t in s.tables]) for s in dashboard.sections]
    return replace(dashboard, sections=sections, observatoire=trim_observatoire(dashboard.observatoire))
