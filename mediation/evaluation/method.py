"""The method rules that make the figures trustworthy (docs/domain/impact-indicators.md):

- small-cell suppression: a count from 1 to ``threshold - 1`` is shown as « < 5 », with secondary
  suppression so that a hidden cell cannot be recomputed from the totals of its row or column;
- Wilson 95 % intervals on proportions;
- percentages of a breakdown that sum to 100 (largest-remainder rounding);
- French formatting of numbers (babel), the same strings everywhere (dashboard, PDF, exports).

Pure functions on small in-memory tables (the aggregates, never the rows).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import parse_pattern

DEFAULT_THRESHOLD = 5
Z95 = 1.959963984540054

PRIMARY = "primary"
SECONDARY = "secondary"


def threshold_label(threshold: int) -> str:
    return f"< {threshold}"


SECONDARY_LABEL = "s"
NOT_COMPUTED = "—"


# --- suppression --------------------------------------------------------------------------------

def is_small(value: int | None, threshold: int) -> bool:
    """A count that identifies people: strictly between 0 and the threshold."""
    return value is not None and 0 < value < threshold


@dataclass
class Suppressed:
    """Which cells of a table (and of its margins) must be hidden, and why.

    ``cells[i][j]``, ``row_totals[i]``, ``col_totals[j]`` and ``grand`` are None (shown),
    :data:`PRIMARY` (a small count) or :data:`SECONDARY` (hidden so that a small count cannot be
    recomputed).
    """

    cells: list[list[str | None]]
    row_totals: list[str | None]
    col_totals: list[str | None]
    grand: str | None

    @property
    def count(self) -> int:
        flat = [c for row in self.cells for c in row] + self.row_totals + self.col_totals + [self.grand]
        return sum(1 for c in flat if c)


def suppress(counts: Sequence[Sequence[int]], threshold: int = DEFAULT_THRESHOLD, *,
             row_totals: bool = True, col_totals: bool = True, grand_total: bool = True) -> Suppressed:
    """Primary and secondary suppression of a table of counts with its published margins.

    The table is extended with its margins (row totals as a last column, column totals as a last
    row, the grand total in the corner); each row and each column of that extended table is a
    *line* whose cells sum to its total. Primary: every count from 1 to ``threshold - 1`` (zeros
    stay: nobody is identified by a zero). Secondary, repeated until nothing changes: in a line
    where exactly one entry is hidden, or where the hidden cells of a published total add up to
    less than ``threshold``, the smallest non-zero visible cell is hidden too (the line's total when
    no cell is left). Margins that are not published are not lines' totals.
    """
    rows = [list(map(int, r)) for r in counts]
    n_rows = len(rows)
    n_cols = max((len(r) for r in rows), default=0)
    rows = [r + [0] * (n_cols - len(r)) for r in rows]
    row_sum = [sum(r) for r in rows]
    col_sum = [sum(rows[i][j] for i in range(n_rows)) for j in range(n_cols)]
    grand = sum(row_sum)

    # Extended table: value and mask; None marks an absent (unpublished) margin.
    values: list[list[int | None]] = []
    for i in range(n_rows):
        values.append(rows[i] + [row_sum[i] if row_totals else None])
    values.append(list(col_sum) + [grand] if col_totals else [None] * (n_cols + 1))
    if not (row_totals and col_totals) and grand_total and n_rows:
        # The grand total is published on its own (e.g. a one-row breakdown with its total).
        values[-1][-1] = grand
    mask: list[list[str | None]] = [[PRIMARY if is_small(v, threshold) else None for v in row] for row in values]

    height, width = len(values), n_cols + 1

    def lines():
        """(cells, total) of each row and column of the extended table that has a published total;
        a row or column without one is no equation: nothing can be recomputed from it."""
        for i in range(height):
            if values[i][n_cols] is not None:
                yield [(i, j) for j in range(n_cols) if values[i][j] is not None], (i, n_cols)
        for j in range(width):
            if values[n_rows][j] is not None:
                yield [(i, j) for i in range(n_rows) if values[i][j] is not None], (n_rows, j)

    changed = True
    while changed:
        changed = False
        for cells, total in lines():
            if not cells:
                continue
            hidden_cells = [p for p in cells if mask[p[0]][p[1]]]
            total_hidden = bool(mask[total[0]][total[1]])
            if not hidden_cells and not total_hidden:
                continue
            hidden_sum = sum(values[i][j] for i, j in hidden_cells)
            needs_more = (len(hidden_cells) + total_hidden == 1
                          or (not total_hidden and 0 < hidden_sum < threshold))
            if not needs_more:
                continue
            # The complementary cell that loses the least: the smallest non-zero visible count (a
            # zero identifies nobody and is never hidden); the total only when no cell is left.
            candidates = [p for p in cells if not mask[p[0]][p[1]] and values[p[0]][p[1]]]
            if candidates:
                i, j = min(candidates, key=lambda p: (values[p[0]][p[1]], p))
            elif not total_hidden and values[total[0]][total[1]]:
                i, j = total
            else:
                continue
            mask[i][j] = SECONDARY
            changed = True

    return Suppressed(
        cells=[mask[i][:n_cols] for i in range(n_rows)],
        row_totals=[mask[i][n_cols] if row_totals else None for i in range(n_rows)],
        col_totals=list(mask[n_rows][:n_cols]) if col_totals else [None] * n_cols,
        grand=mask[n_rows][n_cols] if (grand_total and n_rows) else None,
    )


def suppress_breakdown(counts: Sequence[int], threshold: int = DEFAULT_THRESHOLD, *,
                       total: bool = True) -> tuple[list[str | None], str | None]:
    """One breakdown (a single line of categories) with its published total: (cell masks, total mask)."""
    result = suppress([list(counts)], threshold, row_totals=total, col_totals=False, grand_total=False)
    return result.cells[0] if counts else [], result.row_totals[0] if counts and total else None


def suppress_rates(pairs: Sequence[tuple[int, int]], threshold: int = DEFAULT_THRESHOLD, *,
                   total: bool = True) -> list[tuple[str | None, str | None]]:
    """Rows of (numerator, denominator): for each, the masks of the numerator and the denominator.

    The table suppressed is (numerator, denominator − numerator) with the denominators as row
    totals, so that neither the people counted nor the others can be singled out. The numerator's
    mask is its own (a true 0 stays 0); the rate is shown only when neither is hidden.
    """
    table = [[k, n - k] for k, n in pairs]
    result = suppress(table, threshold, row_totals=True, col_totals=total, grand_total=total)
    # A line never has a single hidden entry: when the complement is hidden, so is the numerator
    # or the denominator.
    return [(result.cells[i][0], result.row_totals[i]) for i in range(len(pairs))]


# --- proportions --------------------------------------------------------------------------------

def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (as fractions in [0, 1]); None when n = 0."""
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def largest_remainder(counts: Sequence[int | float], total: int = 100, decimals: int = 0) -> list[float]:
    """Percentages of ``counts`` rounded so that they sum exactly to ``total`` (largest remainder).

    Each share is floored at ``decimals`` places; the units left are given to the largest
    remainders (ties: the larger count, then the first). All zeros give zeros.
    """
    whole = sum(counts)
    if whole <= 0:
        return [0.0 for _ in counts]
    scale = 10 ** decimals
    exact = [c * total * scale / whole for c in counts]
    floors = [math.floor(e + 1e-9) for e in exact]
    left = total * scale - sum(floors)
    order = sorted(range(len(counts)), key=lambda i: (-(exact[i] - floors[i]), -counts[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [f / scale if decimals else float(f) for f in floors]


def median_from_frequencies(frequencies: Sequence[tuple[float, int]]) -> float | None:
    """The median of a distribution given as (value, how many) pairs (as SQL ``GROUP BY`` returns
    them): the middle value, or the mean of the two middle values for an even count."""
    items = sorted((v, c) for v, c in frequencies if c > 0)
    n = sum(c for _, c in items)
    if n == 0:
        return None
    wanted = [(n - 1) // 2, n // 2]
    found = []
    seen = 0
    for value, count in items:
        while wanted and wanted[0] < seen + count:
            found.append(value)
            wanted.pop(0)
        seen += count
    return (found[0] + found[1]) / 2


# --- formatting ---------------------------------------------------------------------------------

def fmt_number(value: float | int | None, digits: int = 0) -> str:
    """« 1 234 », « 12,5 » (French, babel); « — » for None."""
    if value is None:
        return NOT_COMPUTED
    # What babel's format_decimal writes for the pattern « #,##0.0… » in French — groups of three
    # digits separated by a narrow no-break space, a decimal comma, rounding half to even of the
    # number's decimal representation, the sign of the number before rounding — without babel's
    # per-call parsing and dispatch (the dashboard formats thousands of numbers; tested against
    # babel over a wide range of values).
    if type(value) is int and not digits:
        return _grouped(str(abs(value)), value < 0)
    if type(value) is float and math.isfinite(value):
        rounded = abs(Decimal(str(value))).normalize().quantize(_QUANTA[digits]) if digits in _QUANTA else None
        if rounded is not None:
            whole, _, fraction = f"{rounded:f}".partition(".")
            text = _grouped(whole, math.copysign(1.0, value) < 0)
            return f"{text},{fraction}" if digits else text
    return _number_pattern(digits).apply(value, _french())


_QUANTA = {digits: Decimal(10) ** -digits for digits in range(4)}


def _grouped(digits: str, negative: bool) -> str:
    group, minus = _french_symbols()
    grouped = f"{int(digits):,}".replace(",", group)
    return minus + grouped if negative else grouped


@cache
def _french_symbols() -> tuple[str, str]:
    symbols = _french().number_symbols["latn"]
    return symbols["group"], symbols["minusSign"]


@cache
def _french() -> Locale:
    return Locale.parse("fr_FR")


@cache
def _number_pattern(digits: int):
    return parse_pattern("#,##0" + ("." + "0" * digits if digits else ""))


def fmt_percent(value: float | None, digits: int = 0) -> str:
    """« 42 % » (with a narrow no-break space before the sign, as babel's French does)."""
    if value is None:
        return NOT_COMPUTED
    return f"{fmt_number(value, digits)}\u202f%"


def fmt_interval(interval: tuple[float, float] | None) -> str:
    """« IC 95 % : 52 – 75 % » from fractions."""
    if interval is None:
        return ""
    low, high = interval
    return f"IC 95\u202f% : {fmt_number(low * 100)}\u202f–\u202f{fmt_percent(high * 100)}"


def mask_label(mask: str | None, threshold: int) -> str:
    return threshold_label(threshold) if mask == PRIMARY else SECONDARY_LABEL


def fmt_date(value: date | None, pattern: str = "d MMMM y") -> str:
    """« 1 janvier 2026 » (babel, French)."""
    if value is None:
        return NOT_COMPUTED
    return format_date(value, format=pattern, locale="fr_FR")
