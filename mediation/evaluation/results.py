"""What an indicator computation returns: key figures and tables whose cells already carry their
French display string, with suppression, intervals and percentages applied once, here.

The dashboard, the PDF, the spreadsheets, the CSV files and the API all print these same strings
(or the same numbers), so the same filters give the same figures everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from mediation.evaluation import method
from mediation.evaluation.method import (
    NOT_COMPUTED,
    fmt_interval,
    fmt_number,
    fmt_percent,
    mask_label,
)


@dataclass
class Cell:
    value: float | int | None
    display: str
    mask: str | None = None  # method.PRIMARY or method.SECONDARY when hidden
    # The true count behind a count cell, for the disclosure control of the whole output
    # (:mod:`mediation.evaluation.disclosure`); never printed nor serialised.
    count: int | None = field(default=None, repr=False, compare=False)

    @property
    def hidden(self) -> bool:
        return self.mask is not None

    def as_json(self):
        return None if self.mask else self.value


@dataclass
class Row:
    label: str
    cells: list[Cell]
    key: str | None = None
    partial: bool = False  # a month the period covers only in part (drawn apart in the charts)


@dataclass
class Table:
    """A breakdown or a comparison: a first column of categories, then value columns."""

    code: str
    indicator: str
    title: str
    category: str
    columns: list[str]
    rows: list[Row]
    total: Row | None = None
    chart: str | None = None  # "bar" (horizontal bars) or "line" (a series over months)
    chart_column: int = 0
    unit: str = ""
    note: str | None = None
    # What the disclosure control needs to know (mediation.evaluation.disclosure): the kind of
    # table (breakdown, rate, matrix, comparison), the columns holding counts, those whose counts
    # add up to the total row, and the columns computed from other columns of the same row.
    kind: str = ""
    count_columns: tuple[int, ...] = (0,)
    additive: tuple[int, ...] = ()
    derived: dict[int, tuple[int, ...]] = field(default_factory=dict)
    # Rows that are sums of rows of another table (a commune = its structures): key → keys there.
    parts_of: str | None = None
    parts: dict[str, list[str]] = field(default_factory=dict)
    # On the web page only (mediation.evaluation.page): the rows left out of a long table, and
    # which rows are kept (« les 25 structures qui ont le plus d'accompagnements »).
    omitted: int = 0
    shown: str = ""

    @property
    def dom_id(self) -> str:
        return "t-" + self.code.replace(".", "-").replace("_", "-")

    @property
    def has_hidden(self) -> bool:
        rows = self.rows + ([self.total] if self.total else [])
        return any(c.hidden for r in rows for c in r.cells)


@dataclass
class Figure:
    """A key figure: a count, a rate (with numerator, denominator, interval), a mean or a median."""

    code: str
    label: str
    value: float | int | None
    display: str
    unit: str = ""
    mask: str | None = None
    numerator: Cell | None = None
    denominator: Cell | None = None
    interval: str = ""
    detail: str = ""
    response: str = ""
    kind: str = ""  # count, rate, mean, median, number
    count: int | None = field(default=None, repr=False, compare=False)  # true count (count figures)
    unit_label: str = ""  # who a rate or a mean is about (« personnes », « orientations »)

    @property
    def dom_id(self) -> str:
        return "f-" + self.code.replace(".", "-").replace("_", "-")


@dataclass
class Section:
    code: str
    title: str
    intro: str = ""
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    source: str = ""  # where the means come from: "rollups" or "raw"


@dataclass
class Dashboard:
    """Every section for one scope, plus what the report prints about it."""

    filters: list[tuple[str, str]]
    query_args: dict[str, str]
    sections: list[Section]
    threshold: int
    generated_at: datetime
    definitions: list = field(default_factory=list)  # the Indicator definitions used
    # The map of need against coverage (mediation.evaluation.observatoire), printed with the
    # coverage section; built from that section's published cells, not part of the exports.
    observatoire: object | None = None
    # Served from a copy computed at ``generated_at`` (mediation.evaluation.snapshots), not now.
    snapshot: bool = False

    def section(self, code: str) -> Section | None:
        return next((s for s in self.sections if s.code == code), None)

    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    def figure(self, code: str) -> Figure | None:
        return next((f for f in self.figures() if f.code == code), None)

    def table(self, code: str) -> Table | None:
        return next((t for t in self.tables() if t.code == code), None)


# --- builders -----------------------------------------------------------------------------------

def count_cell(value: int | None, threshold: int, mask: str | None = None) -> Cell:
    if value is None:
        return Cell(None, NOT_COMPUTED)
    if mask is None and method.is_small(value, threshold):
        mask = method.PRIMARY
    if mask:
        return Cell(None, mask_label(mask, threshold), mask, count=int(value))
    return Cell(int(value), fmt_number(value), count=int(value))


HIDDEN_RATE = " — taux non publié (secret statistique)"


def count_figure(code: str, label: str, value: int | None, threshold: int, unit: str = "",
                 detail: str = "") -> Figure:
    cell = count_cell(value, threshold)
    return Figure(code, label, cell.value, cell.display, unit, cell.mask, detail=detail, kind="count",
                  count=cell.count)


def number_figure(code: str, label: str, value: float | None, unit: str = "", digits: int = 0,
                  detail: str = "") -> Figure:
    """A figure that is not a count of people (hours, a ratio): never suppressed."""
    return Figure(code, label, None if value is None else round(value, digits), fmt_number(value, digits),
                  unit, detail=detail, kind="number")


def rate_figure(code: str, label: str, successes: int, n: int, threshold: int, *,
                unit_label: str = "personnes", response: str = "") -> Figure:
    """A proportion with its numerator, denominator and Wilson 95 % interval; hidden (with its
    numerator) when the people counted, or the others, are fewer than the threshold."""
    if n == 0:
        return Figure(code, label, None, NOT_COMPUTED, "%", detail=f"aucune personne concernée ({unit_label})",
                      numerator=Cell(0, "0", count=0), denominator=Cell(0, "0", count=0), response=response,
                      kind="rate", unit_label=unit_label)
    (k_mask, n_mask), = method.suppress_rates([(successes, n)], threshold, total=False)
    numerator = count_cell(successes, threshold, k_mask)
    denominator = count_cell(n, threshold, n_mask)
    if k_mask or n_mask:
        detail = f"{numerator.display} sur {denominator.display} {unit_label}"
        return Figure(code, label, None, NOT_COMPUTED, "%", k_mask or n_mask, numerator, denominator,
                      detail=detail + HIDDEN_RATE, response=response, kind="rate", unit_label=unit_label)
    share = 100 * successes / n
    return Figure(code, label, round(share, 1), fmt_percent(share), "%", None, numerator, denominator,
                  interval=fmt_interval(method.wilson(successes, n)),
                  detail=f"{numerator.display} sur {denominator.display} {unit_label}", response=response,
                  kind="rate", unit_label=unit_label)


def mean_figure(code: str, label: str, total: float | None, n: int, threshold: int, *, unit: str = "",
                digits: int = 1, unit_label: str = "personnes", signed: bool = False) -> Figure:
    """A mean over ``n`` people, published only when ``n`` reaches the threshold."""
    if n == 0 or total is None:
        return Figure(code, label, None, NOT_COMPUTED, unit, detail=f"aucune personne concernée ({unit_label})")
    if n < threshold:
        return Figure(code, label, None, NOT_COMPUTED, unit, method.PRIMARY,
                      denominator=count_cell(n, threshold),
                      detail=f"moins de {threshold} {unit_label} : non publié (secret statistique)")
    value = total / n
    display = fmt_number(value, digits)
    if signed and value > 0:
        display = "+" + display
    return Figure(code, label, round(value, digits), display, unit, denominator=count_cell(n, threshold),
                  detail=f"sur {fmt_number(n)} {unit_label}", kind="mean", unit_label=unit_label)


def median_figure(code: str, label: str, frequencies: Sequence[tuple[float, int]], threshold: int, *,
                  unit: str = "", unit_label: str = "personnes") -> Figure:
    n = sum(c for _, c in frequencies)
    if n == 0:
        return Figure(code, label, None, NOT_COMPUTED, unit, detail=f"aucune personne concernée ({unit_label})")
    if n < threshold:
        return Figure(code, label, None, NOT_COMPUTED, unit, method.PRIMARY, denominator=count_cell(n, threshold),
                      detail=f"moins de {threshold} {unit_label} : non publié (secret statistique)")
    value = method.median_from_frequencies(frequencies)
    return Figure(code, label, value, fmt_number(value, 0 if float(value).is_integer() else 1), unit,
                  denominator=count_cell(n, threshold), detail=f"sur {fmt_number(n)} {unit_label}", kind="median",
                  unit_label=unit_label)


def breakdown_table(code: str, indicator: str, title: str, category: str,
                    items: Sequence[tuple[str | None, str, int]], threshold: int, *,
                    count_label: str = "Accompagnements", percent: bool = True, base: int | None = None,
                    total: bool = True, chart: str | None = "bar", unit: str = "", note: str | None = None,
                    keep_zeros: bool = False) -> Table:
    """A one-dimensional breakdown ``(key, label, count)``: suppression of small counts with
    secondary suppression against the total; percentages by largest remainder so that they sum to
    100 — or, when ``base`` is given (several categories per record, e.g. thématiques), shares of
    that base that need not sum to 100."""
    rows_in = [(k, lab, int(c)) for k, lab, c in items if c or keep_zeros]
    counts = [c for _, _, c in rows_in]
    masks, total_mask = method.suppress_breakdown(counts, threshold, total=total and base is None)
    if base is None:
        shares = method.largest_remainder(counts) if percent else [None] * len(counts)
    else:
        shares = [100 * c / base if base else None for c in counts]
    rows = []
    for (key, label, value), mask, share in zip(rows_in, masks, shares, strict=True):
        cells = [count_cell(value, threshold, mask)]
        if percent:
            cells.append(Cell(None, mask_label(mask, threshold), mask) if mask else
                         Cell(None if share is None else round(share, 1),
                              fmt_percent(share, 0 if base is None else 1)))
        rows.append(Row(label, cells, key))
    total_row = None
    if total:
        grand = sum(counts) if base is None else base
        cells = [count_cell(grand, threshold, total_mask)]
        if percent:
            cells.append(Cell(100.0 if grand else None, fmt_percent(100) if grand and base is None else ""))
        total_row = Row("Total", cells, None)
    columns = [count_label] + (["Part"] if percent else [])
    return Table(code, indicator, title, category, columns, rows, total_row, chart, 0, unit, note, kind="breakdown",
                 additive=(0,) if total and base is None else (), derived={1: (0,)} if percent else {})


def series_table(code: str, indicator: str, title: str, category: str, items: Sequence[tuple[str, str, int]],
                 threshold: int, *, count_label: str = "Accompagnements", note: str | None = None) -> Table:
    """A count per month (a line chart), suppressed like a breakdown, without percentages."""
    table = breakdown_table(code, indicator, title, category, items, threshold, count_label=count_label,
                            percent=False, chart="line", note=note, keep_zeros=True)
    return table


def rate_table(code: str, indicator: str, title: str, category: str, items: Sequence[tuple[str | None, str, int, int]],
               threshold: int, *, n_label: str = "Personnes", k_label: str = "dont", note: str | None = None,
               total: bool = True, chart: str | None = "bar", interval: bool = True) -> Table:
    """Rows ``(key, label, successes, n)``: effectif, numerator, rate and Wilson interval; a rate
    is shown only when the numerator and its complement are visible."""
    pairs = [(int(k), int(n)) for _, _, k, n in items]
    columns = [n_label, k_label, "Taux"] + (["IC 95 %"] if interval else [])
    meta = {"kind": "rate", "count_columns": (0, 1), "additive": (0, 1) if total else (),
            "derived": {2: (0, 1), **({3: (0, 1)} if interval else {})}}
    if not pairs:
        return Table(code, indicator, title, category, columns, [], None, chart, 2, "%", note, **meta)
    result = method.suppress([[k, n - k] for k, n in pairs], threshold, row_totals=True, col_totals=total,
                             grand_total=total)
    # The numerator keeps its own mask (a true 0 is printed 0); the rate goes with any hidden part.
    masks = [(result.cells[i][0], result.row_totals[i]) for i in range(len(pairs))]
    if total:
        masks.append((result.col_totals[0], result.grand))
    rows = []

    def row(key, label, k, n, mask_pair):
        k_mask, n_mask = mask_pair
        cells = [count_cell(n, threshold, n_mask), count_cell(k, threshold, k_mask)]
        if n == 0 or k_mask or n_mask:
            cells += [Cell(None, NOT_COMPUTED, k_mask or n_mask)] + ([Cell(None, "")] if interval else [])
        else:
            share = 100 * k / n
            cells.append(Cell(round(share, 1), fmt_percent(share)))
            if interval:
                cells.append(Cell(None, fmt_interval(method.wilson(k, n))))
        return Row(label, cells, key)

    for (key, label, _, _), (k, n), mask_pair in zip(items, pairs, masks, strict=False):
        rows.append(row(key, label, k, n, mask_pair))
    total_row = None
    if total:
        k_all, n_all = sum(k for k, _ in pairs), sum(n for _, n in pairs)
        total_row = row(None, "Ensemble", k_all, n_all, masks[-1])
    return Table(code, indicator, title, category, columns, rows, total_row, chart, 2, "%", note, **meta)


def matrix_table(code: str, indicator: str, title: str, category: str, row_labels: list[str],
                 column_labels: list[str], counts: list[list[int]], threshold: int, note: str | None = None) -> Table:
    """A cross table with its margins (e.g. a transition matrix), suppressed as a whole."""
    result = method.suppress(counts, threshold)
    rows = []
    for i, label in enumerate(row_labels):
        cells = [count_cell(counts[i][j], threshold, result.cells[i][j]) for j in range(len(column_labels))]
        cells.append(count_cell(sum(counts[i]), threshold, result.row_totals[i]))
        rows.append(Row(label, cells, str(i + 1)))
    col_sums = [sum(counts[i][j] for i in range(len(row_labels))) for j in range(len(column_labels))]
    total_cells = [count_cell(col_sums[j], threshold, result.col_totals[j]) for j in range(len(column_labels))]
    total_cells.append(count_cell(sum(col_sums), threshold, result.grand))
    return Table(code, indicator, title, category, [*column_labels, "Total"], rows, Row("Total", total_cells),
                 None, 0, "", note, kind="matrix", count_columns=tuple(range(len(column_labels) + 1)))


def comparison_table(code: str, indicator: str, title: str, category: str, columns: list[str],
                     items: Sequence[tuple[str | None, str, list[int | float | None]]], threshold: int, *,
                     count_columns: Sequence[int], totals: list[int | float | None] | None = None,
                     digits: dict[int, int] | None = None, ratio_of: dict[int, int] | None = None,
                     note: str | None = None, additive: Sequence[int] = (),
                     derived: dict[int, tuple[int, ...]] | None = None) -> Table:
    """Units (communes, structures, mediators) side by side. Count columns are suppressed one by
    one as breakdowns against their total; a ratio column is hidden wherever the count it is
    computed from (``ratio_of[j]``, by default the first count column) is hidden — and, after the
    disclosure control of the whole output, wherever a count of ``derived[j]`` is hidden.
    ``additive``: the count columns whose rows add up to the total row."""
    digits = digits or {}
    ratio_of = ratio_of or {}
    masks_by_column = {}
    for j in count_columns:
        values = [int(v or 0) for _, _, v in [(a, b, c[j]) for a, b, c in items]]
        masks_by_column[j], _ = method.suppress_breakdown(values, threshold, total=totals is not None)
    rows = []
    for index, (key, label, values) in enumerate(items):
        cells = []
        for j, value in enumerate(values):
            base = ratio_of.get(j, count_columns[0] if count_columns else None)
            row_hidden = masks_by_column[base][index] if base in masks_by_column else None
            if j in masks_by_column:
                cells.append(count_cell(int(value or 0), threshold, masks_by_column[j][index]))
            elif row_hidden or value is None:
                cells.append(Cell(None, mask_label(row_hidden, threshold) if row_hidden else NOT_COMPUTED, row_hidden))
            else:
                cells.append(Cell(round(value, digits.get(j, 0)), fmt_number(value, digits.get(j, 0))))
        rows.append(Row(label, cells, key))
    total_row = None
    if totals is not None:
        cells = []
        for j, value in enumerate(totals):
            if j in masks_by_column:
                cells.append(count_cell(int(value or 0), threshold))
            else:
                cells.append(Cell(None, NOT_COMPUTED) if value is None else
                             Cell(round(value, digits.get(j, 0)), fmt_number(value, digits.get(j, 0))))
        total_row = Row("Ensemble", cells)
    derived = derived or {j: (ratio_of.get(j, count_columns[0]),) for j in range(len(columns))
                          if j not in count_columns and count_columns}
    return Table(code, indicator, title, category, columns, rows, total_row, "bar", 0, "", note, kind="comparison",
                 count_columns=tuple(count_columns), additive=tuple(additive) if totals is not None else (),
                 derived=derived)
