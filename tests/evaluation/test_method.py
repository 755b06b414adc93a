"""The method rules on tables with known answers: suppression (primary and secondary), Wilson
intervals, largest-remainder percentages, medians from frequencies, French formatting."""

from __future__ import annotations

import pytest

from mediation.evaluation import method, results
from mediation.evaluation.method import PRIMARY as P
from mediation.evaluation.method import SECONDARY as S


@pytest.mark.parametrize(("counts", "cells", "total"), [
    ([10, 3, 8], [None, P, S], None),  # one small cell: the next smallest goes too
    ([10, 3, 2, 8], [None, P, P, None], None),  # two small cells adding up to 5: enough
    ([10, 1, 2, 8], [None, P, P, S], None),  # two small cells adding up to 3 < 5: one more
    ([0, 7, 9], [None, None, None], None),  # zeros identify nobody
    ([2, 1], [P, P], P),  # the total itself is small
    ([6, 4, 0], [S, P, None], None),  # the zero is never used as a secondary cell
])
def test_breakdown_suppression(counts, cells, total):
    assert method.suppress_breakdown(counts, 5) == (cells, total)


def test_cross_table_secondary_suppression_in_rows_and_columns():
    """[[10, 2], [8, 9]] with its margins: hiding the 2 forces the 10 (its row), the 9 (its
    column), then the 8 (the 10's column); every margin stays published."""
    result = method.suppress([[10, 2], [8, 9]], 5)
    assert result.cells == [[S, P], [S, S]]
    assert result.row_totals == [None, None] and result.col_totals == [None, None] and result.grand is None


def test_no_hidden_cell_can_be_recomputed():
    """Brute force on many tables: in every line with a published total, either nothing is hidden
    or at least two entries are hidden and the hidden cells add up to 5 or more."""
    import itertools

    for a, b, c, d in itertools.product([0, 1, 3, 6, 12], repeat=4):
        table = [[a, b], [c, d]]
        result = method.suppress(table, 5)
        extended = [[a, b, a + b], [c, d, c + d], [a + c, b + d, a + b + c + d]]
        mask = [result.cells[0] + [result.row_totals[0]], result.cells[1] + [result.row_totals[1]],
                result.col_totals + [result.grand]]
        for value, hidden in zip(sum(extended, []), sum(mask, []), strict=True):
            if 0 < value < 5:
                assert hidden, (table, result)
        lines = [[(i, j) for j in range(3)] for i in range(3)] + [[(i, j) for i in range(3)] for j in range(3)]
        for line in lines:
            hidden = [(i, j) for i, j in line if mask[i][j]]
            assert len(hidden) != 1, (table, line, result)
            total = line[-1]
            if hidden and not mask[total[0]][total[1]]:
                assert sum(extended[i][j] for i, j in hidden) >= 5, (table, line, result)


def test_rates_hide_the_complement_too():
    # 38 out of 40: the 2 who did not are a small cell, so the 38 goes as well.
    assert method.suppress_rates([(38, 40)], 5, total=False) == [(S, None)]
    assert method.suppress_rates([(20, 40)], 5, total=False) == [(None, None)]
    assert method.suppress_rates([(1, 3)], 5, total=False)[0][1] == P


def test_wilson_interval_known_values():
    low, high = method.wilson(8, 10)
    assert low == pytest.approx(0.4901625, abs=1e-6)
    assert high == pytest.approx(0.9433178, abs=1e-6)
    low, high = method.wilson(0, 10)
    assert low == 0 and high == pytest.approx(0.2775328, abs=1e-6)
    assert method.wilson(0, 0) is None


@pytest.mark.parametrize(("counts", "expected"), [
    ([1, 1, 1], [34, 33, 33]),
    ([2, 3, 5], [20, 30, 50]),
    ([1, 2], [33, 67]),
    ([3, 3, 1], [43, 43, 14]),
    ([0, 0], [0, 0]),
])
def test_largest_remainder(counts, expected):
    shares = method.largest_remainder(counts)
    assert shares == expected
    assert sum(shares) in (0, 100)


def test_median_from_frequencies():
    assert method.median_from_frequencies([(10, 1), (20, 1), (30, 1)]) == 20
    assert method.median_from_frequencies([(20, 2), (10, 2)]) == 15
    assert method.median_from_frequencies([(5, 3)]) == 5
    assert method.median_from_frequencies([]) is None


def test_french_formatting():
    assert method.fmt_number(1234567) == "1\u202f234\u202f567"
    assert method.fmt_number(12.345, 1) == "12,3"
    assert method.fmt_percent(42) == "42\u202f%"
    assert method.fmt_interval((0.52, 0.75)) == "IC 95\u202f% : 52\u202f–\u202f75\u202f%"


def test_number_formatting_is_babels_for_every_kind_of_value():
    """fmt_number writes integers and floats itself (the dashboard formats thousands of numbers):
    the strings must be babel's own, rounding and signs included."""
    from decimal import Decimal

    from babel.numbers import format_decimal

    values = [*range(-1100, 1100, 7), 9_999, 10_000, 999_999, 1_000_000, -1_234_567, 10**12 + 1,
              0.5, 1.5, 2.5, 2.675, 12.345, 1 / 3, -0.05, -0.04, -0.0, 0.0, 99.95, 999.5, 1e-7, 1e15,
              1234.5678, -98765.4321, Decimal("2.5"), Decimal("1234567.891"),
              *(100 * k / n for n in range(1, 40) for k in range(n + 1)),  # shares
              *(1000 * a / b for a in range(0, 200, 3) for b in range(1, 30))]  # rates per 1,000
    for value in values:
        for digits in (0, 1, 2):
            expected = format_decimal(value, format="#,##0" + ("." + "0" * digits if digits else ""), locale="fr_FR")
            assert method.fmt_number(value, digits) == expected, (value, digits)


def test_breakdown_table_percentages_sum_to_100_and_hide_small_cells():
    table = results.breakdown_table("t", "moyens.accompagnements", "T", "Canal",
                                    [("a", "A", 10), ("b", "B", 3), ("c", "C", 8)], 5)
    assert [r.cells[0].display for r in table.rows] == ["10", "< 5", "s"]
    assert [r.cells[1].display for r in table.rows] == ["48\u202f%", "< 5", "s"]
    assert table.total.cells[0].display == "21"


def test_rate_figure_with_interval_and_suppression():
    figure = results.rate_figure("x", "X", 12, 20, 5)
    assert figure.display == "60\u202f%" and figure.detail == "12 sur 20 personnes"
    assert figure.interval == "IC 95\u202f% : 39\u202f–\u202f78\u202f%"
    hidden = results.rate_figure("x", "X", 8, 10, 5)  # the 2 who did not are a small cell: secret
    assert hidden.value is None and hidden.mask and "secret" in hidden.detail


def test_matrix_table_margins():
    table = results.matrix_table("m", "resultats.progression_autonomie", "M", "Avant", ["1", "2"], ["1", "2"],
                                 [[10, 2], [8, 9]], 5)
    assert [c.display for c in table.rows[0].cells] == ["s", "< 5", "12"]
    assert [c.display for c in table.total.cells] == ["18", "11", "29"]
