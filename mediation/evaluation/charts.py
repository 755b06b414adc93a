"""Server-side SVG charts of result tables: horizontal bars for a breakdown, a line for a series
over months. The same SVG goes into the dashboard (inline) and the PDF (as an image,
:func:`as_image`, whose ``alt`` is the chart's title and description).

Accessible: ``role="img"`` with a ``<title>`` and a ``<desc>`` referenced by ``aria-labelledby``;
every chart is printed next to its data table (the table is the accessible alternative and holds
the exact figures). Hidden (suppressed) values draw no bar and are labelled like in the table.
Presentation attributes only (no ``style``): the pages' Content-Security-Policy forbids inline
styles.
"""

from __future__ import annotations

import base64
import math
import re
from dataclasses import replace

from markupsafe import Markup, escape

from mediation.evaluation.method import fmt_number
from mediation.evaluation.results import Table

WIDTH = 640
BAR_HEIGHT = 18
ROW_GAP = 8
LABEL_WIDTH = 230
VALUE_WIDTH = 70
INK = "#1b1b1b"
BAR = "#1d4f73"
GRID = "#c8c8c8"
MAX_LABEL = 34


def _short(label: str, limit: int = MAX_LABEL) -> str:
    return label if len(label) <= limit else label[: limit - 1].rstrip() + "…"


def _frame(table: Table, height: int, kind: str, body: list[str], left: int = 0) -> Markup:
    """The ``<svg>`` around ``body``, its drawing from ``left`` to :data:`WIDTH` (the bars without
    their labels start at :data:`BARS_LEFT`)."""
    ident = f"{table.dom_id}-chart"
    description = (f"{kind} : {table.title.lower()}. Les valeurs exactes sont dans le tableau "
                   "« " + table.title + " » qui suit.")
    return Markup(  # noqa: S704 - every text part is escaped above or here
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="{left} 0 {WIDTH - left} {height}" '
        f'width="{WIDTH - left}" height="{height}" aria-labelledby="{ident}-title {ident}-desc" '
        f'font-family="DejaVu Sans, Arial, sans-serif" font-size="12">'
        f'<title id="{ident}-title">{escape(table.title)}</title>'
        f'<desc id="{ident}-desc">{escape(description)}</desc>'
        + "".join(body) + "</svg>"
    )


BARS_LEFT = LABEL_WIDTH - 2  # the bars without their labels: the axis line and the bars


def bar_chart(table: Table, kind: str = "Graphique en barres", *, labels: bool = True) -> Markup | None:
    """One horizontal bar per row (value column ``table.chart_column``); without ``labels``, the
    bars and their values only, from :data:`BARS_LEFT` (:func:`report_image` prints the labels
    beside them)."""
    rows = [r for r in table.rows if r.cells]
    if not rows:
        return None
    values = [r.cells[table.chart_column].value for r in rows]
    largest = max((v for v in values if v), default=0)
    plot = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    body = []
    for index, (row, value) in enumerate(zip(rows, values, strict=True)):
        y = index * (BAR_HEIGHT + ROW_GAP)
        middle = y + BAR_HEIGHT / 2 + 4
        if labels:
            body.append(f'<text x="{LABEL_WIDTH - 8}" y="{middle:.0f}" text-anchor="end" fill="{INK}">'
                        f'{escape(_short(row.label))}</text>')
        length = plot * value / largest if value and largest else 0
        if length:
            body.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" fill="{BAR}"/>')
        display = row.cells[table.chart_column].display
        body.append(f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{middle:.0f}" fill="{INK}">{escape(display)}</text>')
    body.append(f'<line x1="{LABEL_WIDTH}" y1="0" x2="{LABEL_WIDTH}" y2="{len(rows) * (BAR_HEIGHT + ROW_GAP)}" '
                f'stroke="{INK}" stroke-width="1"/>')
    return _frame(table, len(rows) * (BAR_HEIGHT + ROW_GAP) + 4, kind, body, 0 if labels else BARS_LEFT)


def nice_ceiling(value: float) -> float:
    """The axis maximum: 1, 2, 2.5 or 5 times a power of ten, at least ``value`` (1 for nothing)."""
    if value <= 0:
        return 1
    power = 10 ** math.floor(math.log10(value))
    return next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value)


LIGHT = "#ffffff"
FONT_SIZE = 12
CHAR_WIDTH = 0.62 * FONT_SIZE  # a generous average advance of DejaVu Sans at this size
LABEL_GAP = 10
PARTIAL = "(partiel)"


def text_width(text: str) -> float:
    """An upper estimate of the width of ``text`` drawn at the charts' font size."""
    return len(text) * CHAR_WIDTH


def axis_labels(labels: list[str], step: float) -> list[int]:
    """The indexes of the month labels to print under a line chart, ``step`` apart on the axis:
    evenly spaced (every k-th month), never overlapping, the last month always shown (the label
    before it gives way when it would touch it)."""
    n = len(labels)
    if n == 0:
        return []
    widest = max(text_width(label) for label in labels)
    every = 1
    while every < n and every * step < widest + LABEL_GAP:
        every += 1
    shown = list(range(0, n, every))
    if shown[-1] != n - 1:
        shown.append(n - 1)
    # the last label ends at its point (text-anchor end), the others are centred on theirs: the
    # label before it gives way when they would touch
    last_width = text_width(labels[-1])
    while len(shown) > 1 and (n - 1 - shown[-2]) * step < last_width + widest / 2 + LABEL_GAP:
        shown.pop(-2)
    return shown


def line_chart(table: Table) -> Markup | None:
    """A series over months: points joined by a line, hidden values leave a gap. Month labels are
    thinned so that they never overlap. A month the period covers only in part (``Row.partial``)
    is drawn apart: hollow point, dashed line to it, « (partiel) » under its label and a legend —
    so that a partial first or last month does not read as a dip."""
    rows = table.rows
    if not rows:
        return None
    partial = [bool(getattr(r, "partial", False)) for r in rows]
    height, left, right, top, bottom = 240, 60, 40, 12, 44
    if any(partial):  # room under the axis for « (partiel) » and the legend
        height += 24
        bottom += 24
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    values = [r.cells[table.chart_column].value for r in rows]
    largest = nice_ceiling(max((v for v in values if v), default=0))
    step = plot_w / max(1, len(rows) - 1)

    def xy(index, value):
        return left + index * step, top + plot_h * (1 - value / largest)

    body = []
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH - right}" y2="{y:.1f}" stroke="{GRID}" '
                    'stroke-width="1"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{INK}">'
                    f'{escape(fmt_number(largest * fraction))}</text>')
    segment: list[tuple[int, str]] = []
    segments = []
    points = []
    for index, value in enumerate(values):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = xy(index, value)
        segment.append((index, f"{x:.1f},{y:.1f}"))
        points.append((index, x, y))
    if segment:
        segments.append(segment)
    for run in segments:
        for (i, a), (j, b) in zip(run, run[1:], strict=False):
            dashed = ' stroke-dasharray="5 4"' if partial[i] or partial[j] else ""
            body.append(f'<polyline points="{a} {b}" fill="none" stroke="{BAR}" stroke-width="2"{dashed}/>')
    for index, x, y in points:
        if partial[index]:
            body.append(f'<circle class="partial" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{LIGHT}" stroke="{BAR}" '
                        'stroke-width="2"/>')
        else:
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{BAR}"/>')
    labels = [r.label.removesuffix(" " + PARTIAL) for r in rows]
    baseline = top + plot_h + 18
    for index in axis_labels(labels, step):
        x = left + index * step
        anchor = "end" if index == len(rows) - 1 and len(rows) > 1 else "middle"
        body.append(f'<text x="{x:.1f}" y="{baseline}" text-anchor="{anchor}" fill="{INK}">'
                    f'{escape(labels[index])}</text>')
        if partial[index]:
            body.append(f'<text x="{x:.1f}" y="{baseline + 14}" text-anchor="{anchor}" fill="{INK}" '
                        f'font-size="10">{PARTIAL}</text>')
    if any(partial):
        y = height - 8
        body.append(f'<circle cx="{left + 4}" cy="{y - 4}" r="4" fill="{LIGHT}" stroke="{BAR}" stroke-width="2"/>')
        body.append(f'<text x="{left + 14}" y="{y}" fill="{INK}" font-size="10">Mois partiel : la période n\'en '
                    'couvre qu\'une partie, son total n\'est pas comparable à celui d\'un mois entier.</text>')
    return _frame(table, height, "Graphique en courbe", body)


def chart(table: Table) -> Markup | None:
    """The chart of a table, or None when it has none."""
    if table.chart == "bar":
        if table.omitted:  # a long table on the web page (mediation.evaluation.page)
            return bar_chart(table, f"Graphique en barres des {len(table.rows)} lignes affichées")
        return bar_chart(table)
    if table.chart == "line":
        return line_chart(table)
    return None


MAX_REPORT_BARS = 25


def _report_bars(table: Table) -> tuple[Table, str] | None:
    """The rows a bar chart of the PDF draws and the chart's kind: only the rows with a value (or a
    hidden one), at most the :data:`MAX_REPORT_BARS` largest. Every SVG text costs a text layout in
    WeasyPrint: a chart with a bar per commune of a territory (hundreds of rows, most at zero) cost
    more than the rest of the report."""
    column = table.chart_column
    drawn = [r for r in table.rows if r.cells and (r.cells[column].value or r.cells[column].mask)]
    kind = "Graphique en barres"
    if len(drawn) == len(table.rows) and len(drawn) <= MAX_REPORT_BARS:
        return table, kind
    if len(drawn) > MAX_REPORT_BARS:
        drawn = sorted(drawn, key=lambda r: -(r.cells[column].value or 0))[:MAX_REPORT_BARS]
        kind += f" des {MAX_REPORT_BARS} plus grandes valeurs"
    if not drawn:
        return None
    return replace(table, rows=drawn), kind + " (les lignes à zéro ne sont pas tracées)"


# A bar chart of at most this many value columns (a count and its share) is printed in the PDF as
# bars in its own table (:func:`table_bars`) rather than as a second list of the same rows.
TABLE_BARS_COLUMNS = 2
# The longest bar's share of its cell: the rest, right of it, holds the value (``_report.css`` gives
# the charted column its width: the widest value fits beside the longest bar).
TABLE_BAR_SPAN = 0.7


def table_bars(table: Table) -> list[float] | None:
    """The PDF's bars drawn in the table itself: for a bar chart of a narrow table (a count and its
    share), the length of each row's bar in per cent of its cell's width — the largest value
    :data:`TABLE_BAR_SPAN` of it, a zero or a hidden value none — in the order of the rows; ``None``
    for any other table.

    Printed apart, the chart repeated the table's labels and values (a second list of the same
    rows: a page more for each breakdown); in the table, each bar stands on the line of its label
    and its exact value. The bars are a cell's background: an artifact of the tagged PDF, whose
    table keeps every value, as before."""
    if table.chart != "bar" or len(table.columns) > TABLE_BARS_COLUMNS or not table.rows:
        return None
    values = [0 if not r.cells or r.cells[table.chart_column].hidden else (r.cells[table.chart_column].value or 0)
              for r in table.rows]
    largest = max(values)
    return [round(100 * TABLE_BAR_SPAN * value / largest, 2) if largest else 0 for value in values]


def report_chart(table: Table) -> Markup | None:
    """The chart of a table in the PDF, as one SVG (:func:`report_image` prints it); none when the
    table draws its own bars (:func:`table_bars`)."""
    if table_bars(table) is not None:
        return None
    if table.chart != "bar":
        return chart(table)
    bars = _report_bars(table)
    return bar_chart(*bars) if bars else None


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.S)
_DESC = re.compile(r"<desc[^>]*>(.*?)</desc>", re.S)
_CLASS = re.compile(r'class="([^"]*)"')


def as_image(svg: Markup | None) -> Markup | None:
    """A chart for the PDF: the same SVG, as an ``<img>`` of a ``data:`` URL whose text alternative
    (``alt``, the figure's /Alt in the tagged PDF) is the chart's title and description.

    Inline, every element of the SVG went through WeasyPrint's HTML parser and its CSS cascade
    before being written back and parsed again as SVG; as an image it is parsed once (about a
    twentieth of the report's rendering time, bench/RESULTS.md, issue 18). The drawing is the same."""
    if not svg:
        return svg
    text = str(svg)
    title, desc = _TITLE.search(text), _DESC.search(text)
    alt = ". ".join(m.group(1).strip().rstrip(".") for m in (title, desc) if m and m.group(1).strip())
    classes = _CLASS.search(text)
    data = base64.b64encode(text.encode()).decode("ascii")
    return Markup(  # noqa: S704 - the title and description are escaped by _frame and observatoire.svg
        f'<img class="{classes.group(1) if classes else "chart"}" alt="{alt}." '
        f'src="data:image/svg+xml;base64,{data}">')


def report_image(table: Table) -> Markup | None:
    """:func:`report_chart` as the PDF draws it (:func:`as_image`). A bar chart's labels are HTML
    text beside the image of its bars (``.bar-chart`` in ``_report.css`` places each on the line of
    its bar): WeasyPrint lays an SVG text out and draws it letter by letter, one text layout per
    letter — the labels of the bar charts, about two thousand letters at 1 million accompaniments,
    cost about a seventh of the report's rendering (bench/RESULTS.md, issue 18); as HTML, one per
    label. The bars, the values, the title and description (the image's ``alt``) are unchanged."""
    if table_bars(table) is not None:
        return None
    if table.chart != "bar":
        return as_image(chart(table))
    bars = _report_bars(table)
    if bars is None:
        return None
    drawn, kind = bars
    image = as_image(bar_chart(drawn, kind, labels=False))
    if image is None:  # no row to draw (a table without data): no chart, not a « None » in the report
        return None
    labels = "".join(f'<span class="bar-label">{escape(_short(r.label))}</span>' for r in drawn.rows if r.cells)
    return Markup(  # noqa: S704 - the labels are escaped here, the image by as_image
        f'<div class="bar-chart"><div class="bar-labels">{labels}</div>{image}</div>')
