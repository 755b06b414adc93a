"""Statistical disclosure control of one output as a whole: every figure and table computed for one
filter (the dashboard, the PDF, the XLSX/CSV files, the open-data CSV and the API all print the same
:class:`~mediation.evaluation.results.Dashboard`) is protected as ONE set of linked tables.

Each table is first suppressed on its own (:func:`mediation.evaluation.method.suppress`: « < 5 »
for a count from 1 to the threshold − 1, « s » for the complementary cells). This module then
writes down every equation a reader can make from the published figures together:

- a table's rows add up to its total, a cross table's rows and columns to their margins;
- the same count printed twice is one unknown (the accompaniments of the key figures and the totals
  of the month, canal, duration, structure and commune breakdowns; a commune of the structures'
  commune table and the same commune of the coverage table; « Niveaux atteints » and the badges
  « Niveau n atteint »; a rate's denominator and the grand total of its transition matrix...);
- a commune of the structures' communes is the sum of its structures;
- a rate's numerator is the sum of other cells (people whose level rose = the cells above the
  diagonal of the transition matrix) or its denominator the total of a table minus a row
  (referrals not cancelled = all referrals − cancelled ones), and a numerator never exceeds its
  denominator;

and what the legend tells: a « < 5 » cell is between 1 and threshold − 1, an « s » cell is at least
the threshold (complementary cells are never zeros nor small counts), every count is ≥ 0.

**Protection range.** For every hidden cell, the published figures and these equations must leave
at least ``threshold − 1`` possible values (4 for a threshold of 5): a « < 5 » cell keeps its whole
range 1 … threshold − 1 (nothing narrows it), an « s » cell an interval of at least threshold − 2
in width. The one exception is a wholly small group (an equation whose every non-zero term is a
« < 5 », e.g. three people split in a breakdown whose total is « < 5 » too): its cells cannot be
given more room without hiding zeros, and are only required never to be known exactly (at least
two possible values). :func:`audit` computes each hidden cell's feasible interval by linear programming (HiGHS
through SciPy) — analytically when the cell's unknowns meet in a single equation — and
:func:`protect` hides, while a cell is under-protected, the visible cell of least information loss
(the smallest non-zero count, a total or a key figure only after the cells of its table) in the
equation that pins it down the most (the one with the fewest hidden cells). Hiding a cell only
widens intervals, so the loop ends; every suppression it adds is a secondary one (« s »).

A link between two places is written only when the two counts are equal in the data (they are by
definition; a difference would make the equations contradictory), and the figures computed from
hidden counts (shares, rates, intervals, ratios, « sur N personnes ») are hidden with them.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import os
import re
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from mediation.evaluation.method import NOT_COMPUTED, PRIMARY, SECONDARY, SECONDARY_LABEL
from mediation.evaluation.results import HIDDEN_RATE, Cell, Dashboard, Table

log = logging.getLogger(__name__)

# A published count: ("f", figure code, "value" | "numerator" | "denominator") or
# ("t", table code, row index (-1: the total row), column).
Ref = tuple
TOTAL_ROW = -1


@dataclass
class Equation:
    """``Σ coefficient × count`` is ``= 0`` (``kind == "eq"``) or ``≤ 0`` (``"le"``)."""

    terms: list[tuple[int, Ref]]
    kind: str = "eq"
    label: str = ""


@dataclass
class Model:
    """The published counts of one output (true values and masks) and the equations linking them."""

    values: dict[Ref, int] = field(default_factory=dict)
    masks: dict[Ref, str | None] = field(default_factory=dict)
    equations: list[Equation] = field(default_factory=list)
    # Refs that are a table's total or a key figure: hidden last (they carry the most information).
    totals: set[Ref] = field(default_factory=set)

    def add(self, ref: Ref, count: int | None, mask: str | None, *, total: bool = False) -> None:
        if count is None:
            return
        self.values[ref] = int(count)
        self.masks[ref] = mask
        if total:
            self.totals.add(ref)

    def equal(self, refs: Iterable[Ref | None], label: str) -> None:
        """The same count printed in several places (linked only where the values agree)."""
        present = [r for r in refs if r in self.values]
        for a, b in zip(present, present[1:], strict=False):
            if self.values[a] == self.values[b]:
                self.equations.append(Equation([(1, a), (-1, b)], "eq", label))

    def sum_equals(self, total: Ref | None, parts: Iterable[Ref | None], label: str, *, signs=None) -> None:
        """``total = Σ parts`` (with ``signs`` for differences), when every term is published and true."""
        parts = list(parts)
        signs = signs or [1] * len(parts)
        if total not in self.values or not parts or any(p not in self.values for p in parts):
            return
        if self.values[total] != sum(s * self.values[p] for s, p in zip(signs, parts, strict=True)):
            return
        self.equations.append(Equation([(1, total)] + [(-s, p) for s, p in zip(signs, parts, strict=True)], "eq",
                                       label))

    def at_most(self, small: Ref | None, large: Iterable[Ref | None], label: str) -> None:
        """``small ≤ Σ large`` (a numerator and its denominator, a part and its whole)."""
        large = list(large)
        if small not in self.values or not large or any(r not in self.values for r in large):
            return
        if self.values[small] <= sum(self.values[r] for r in large):
            self.equations.append(Equation([(1, small)] + [(-1, r) for r in large], "le", label))


# --- the model of a dashboard -------------------------------------------------------------------

def build_model(dashboard: Dashboard) -> Model:
    model = Model()
    for figure in dashboard.figures():
        if figure.kind == "count":
            model.add(("f", figure.code, "value"), figure.count, figure.mask, total=True)
        for part in ("numerator", "denominator"):
            cell = getattr(figure, part)
            if cell is not None:
                model.add(("f", figure.code, part), cell.count, cell.mask, total=True)
        if figure.kind == "rate":
            model.at_most(("f", figure.code, "numerator"), [("f", figure.code, "denominator")], figure.code)
    for table in dashboard.tables():
        _table_model(model, table)
    _links(model, dashboard)
    return model


def _table_model(model: Model, table: Table) -> None:
    rows = list(enumerate(table.rows)) + ([(TOTAL_ROW, table.total)] if table.total else [])
    for i, row in rows:
        for j in table.count_columns:
            if j < len(row.cells):
                model.add(("t", table.code, i, j), row.cells[j].count, row.cells[j].mask, total=i == TOTAL_ROW)
    code, n = table.code, len(table.rows)
    if table.kind == "matrix":
        width = len(table.count_columns) - 1
        for i in range(n):
            model.sum_equals(("t", code, i, width), [("t", code, i, j) for j in range(width)], code)
        for j in range(width + 1):
            model.sum_equals(("t", code, TOTAL_ROW, j), [("t", code, i, j) for i in range(n)], code)
        return
    if table.total:
        for j in table.additive:
            model.sum_equals(("t", code, TOTAL_ROW, j), [("t", code, i, j) for i in range(n)], code)
    if table.kind == "rate":
        for i, _ in rows:
            model.at_most(("t", code, i, 1), [("t", code, i, 0)], code)


def _figure(code: str, part: str = "value") -> Ref:
    return ("f", code, part)


def _total(code: str, column: int = 0) -> Ref:
    return ("t", code, TOTAL_ROW, column)


def _links(model: Model, dashboard: Dashboard) -> None:
    """The equations between tables and key figures (what the same count printed twice, or a sum
    of counts printed elsewhere, lets a reader write)."""
    tables = {t.code: t for t in dashboard.tables()}
    positions: dict[str, dict[str, int]] = {}  # per table, each row key's first index

    def row(code: str, key: str, column: int = 0) -> Ref | None:
        table = tables.get(code)
        if table is None:
            return None
        if code not in positions:  # built once per table (a search per row made the links quadratic)
            positions[code] = {}
            for i, r in enumerate(table.rows):
                positions[code].setdefault(r.key, i)
        index = positions[code].get(key)
        return None if index is None else ("t", code, index, column)

    def rows_where(code: str, predicate, column: int = 0) -> list[Ref]:
        table = tables.get(code)
        return [("t", code, i, column) for i, r in enumerate(table.rows) if predicate(r)] if table else []

    accompaniments = _figure("moyens.accompagnements")
    model.equal([accompaniments] + [_total(c) for c in ("moyens.par_mois", "moyens.par_thematique", "moyens.par_canal",
                                                        "moyens.par_duree", "moyens.par_structure",
                                                        "moyens.par_commune")]
                + [_total(f"comparaison.{d}", 0) for d in ("communes", "structures", "mediateurs")],
                "accompagnements")
    model.sum_equals(accompaniments, [_figure("moyens.accompagnements_individuels"),
                                      _figure("moyens.participants_ateliers")], "individuels + ateliers")
    beneficiaries = _figure("moyens.beneficiaires")
    model.equal([beneficiaries] + [_total(c) for c in ("moyens.par_genre", "moyens.par_age", "moyens.par_statut")]
                + [_total(f"comparaison.{d}", 1) for d in ("communes", "structures", "mediateurs")], "bénéficiaires")
    model.at_most(_figure("moyens.nouveaux_beneficiaires"), [beneficiaries], "nouveaux")
    for d in ("communes", "structures", "mediateurs"):
        model.equal([_figure("moyens.nouveaux_beneficiaires"), _total(f"comparaison.{d}", 2)], "nouveaux")
        model.equal([_figure("moyens.ateliers"), _total(f"comparaison.{d}", 3)], "ateliers")
    thematiques = tables.get("moyens.par_thematique")
    for i, _ in enumerate(thematiques.rows if thematiques else []):
        model.at_most(("t", "moyens.par_thematique", i, 0), [accompaniments], "thématique")

    # Tables whose rows are sums of another table's rows (a commune = its structures).
    for table in tables.values():
        if table.parts_of in tables:
            for i, r in enumerate(table.rows):
                parts = [row(table.parts_of, k) for k in table.parts.get(r.key, [])]
                if parts and None not in parts:
                    model.sum_equals(("t", table.code, i, 0), parts, f"{table.code} = somme de {table.parts_of}")
    # The same unit in two tables: a structure's accompaniments in the comparison, a commune's
    # accompaniments in the coverage table.
    for key in [r.key for r in tables["moyens.par_structure"].rows] if "moyens.par_structure" in tables else []:
        model.equal([row("moyens.par_structure", key), row("comparaison.structures", key)], "structure")
    for key in [r.key for r in tables["moyens.par_commune"].rows] if "moyens.par_commune" in tables else []:
        model.equal([row("moyens.par_commune", key), row("maillage.communes", key, 2)], "commune")
    coverage = tables.get("maillage.communes")
    if coverage:
        residents = [("t", coverage.code, i, 3) for i in range(len(coverage.rows))]
        if (beneficiaries in model.values and residents and all(r in model.values for r in residents)
                and sum(model.values[r] for r in residents) <= model.values[beneficiaries]):
            model.equations.append(Equation([(1, r) for r in residents] + [(-1, beneficiaries)], "le",
                                                "résidents"))

    # Pathway milestones and the badges they issue.
    model.equal([_figure("realisations.etapes"), row("realisations.jalons", "etape")], "étapes")
    is_level = re.compile(r"^Niveau \d+ atteint$")
    is_step = re.compile(r"^Niveau \d+ · Étape$")
    model.sum_equals(row("realisations.jalons", "niveau"),
                     rows_where("realisations.badges", lambda r: bool(is_level.match(r.key or ""))), "niveaux")
    model.sum_equals(row("realisations.jalons", "etape"),
                     rows_where("realisations.badges", lambda r: bool(is_step.match(r.key or ""))), "étapes")
    model.equal([row("realisations.jalons", "parcours"), row("realisations.badges", "Parcours complet")], "parcours")
    model.equal([_figure("realisations.personnes_equipees"), _total("realisations.equipement")], "équipement")
    # The equipment library: loans = the « prêt » row; gifts and purchases = the two other rows; a
    # person equipped received at least one device.
    model.equal([_figure("realisations.appareils_pretes"), row("realisations.materiel_remis", "pret")],
                "appareils prêtés")
    model.sum_equals(_figure("realisations.appareils_donnes"),
                     [row("realisations.materiel_remis", "don"), row("realisations.materiel_remis", "achat_solidaire")],
                     "appareils donnés ou vendus")
    model.at_most(_figure("realisations.personnes_equipees_parc"), [_total("realisations.materiel_remis")],
                  "personnes équipées par l'inventaire")

    # Referrals: honoured rate's denominator = all referrals − cancelled ones; numerator ≤ honoured.
    model.sum_equals(_figure("resultats.orientations_honorees", "denominator"),
                     [_total("realisations.orientations"), row("realisations.orientations", "annulee")],
                     "orientations non annulées", signs=[1, -1])
    model.at_most(_figure("resultats.orientations_honorees", "numerator"), [row("realisations.orientations", "honoree")],
                  "orientations honorées")

    # Appointments: the attendance rate's numerator and denominator are the totals of its tables
    # by service and by place.
    model.equal([_figure("resultats.venue_rendez_vous", "denominator"), _total("resultats.venue_par_service", 0),
                 _total("resultats.venue_par_lieu", 0)], "rendez-vous dont la venue est indiquée")
    model.equal([_figure("resultats.venue_rendez_vous", "numerator"), _total("resultats.venue_par_service", 1),
                 _total("resultats.venue_par_lieu", 1)], "rendez-vous honorés")

    # Autonomy: the transition matrix's grand total is every autonomy figure's denominator; the
    # people whose level rose are the cells above the diagonal.
    grand = ("t", "resultats.transitions", TOTAL_ROW, 3)
    model.equal([grand] + [_figure(c, "denominator") for c in (
        "resultats.progression_autonomie", "resultats.gain_autonomie", "resultats.aisance", "resultats.aisance.avant",
        "resultats.aisance.apres")] + [row("qualite.champs", "deux_diagnostics", 1)], "deux diagnostics")
    model.sum_equals(_figure("resultats.progression_autonomie", "numerator"),
                     [("t", "resultats.transitions", i, j) for i in range(3) for j in range(3) if j > i],
                     "progression = au-dessus de la diagonale")
    # Pathway levels: every row has the same denominator (people enrolled).
    levels = tables.get("resultats.niveaux")
    if levels:
        model.equal([("t", levels.code, i, 0) for i in range(len(levels.rows))], "inscrits")
    model.equal([_total("resultats.cohortes", 1), _figure("resultats.delai_autonomie", "denominator")],
                "parcours terminés")
    # Follow-ups.
    model.equal([_figure("resultats.taux_reponse", "numerator"), row("qualite.champs", "relance", 1)], "réponses")
    model.equal([_figure("resultats.taux_reponse", "denominator"), row("qualite.champs", "relance", 0)], "relancés")
    for code in ("resultats.usage_renouvele", "resultats.emploi_formation", "resultats.isolement",
                 "resultats.aisance_relance"):
        model.at_most(_figure(code, "denominator"), [_figure("resultats.taux_reponse", "numerator")], code)
    # People followed: the return rate's denominator and the data-quality rows about them.
    model.equal([_figure("resultats.taux_retour", "denominator"), row("qualite.champs", "diagnostic", 0),
                 row("qualite.champs", "deux_diagnostics", 0)], "personnes suivies")
    model.equal([row("qualite.champs", k, 0) for k in ("genre", "tranche_age", "statut", "commune")]
                + [accompaniments], "accompagnements (qualité)")
    model.equal([row("qualite.champs", k, 0) for k in ("autonomie", "materiel")], "accompagnements individuels")


# --- the audit ----------------------------------------------------------------------------------

def protection_width(threshold: int) -> int:
    """The narrowest interval allowed for a hidden cell: threshold − 2 (so ≥ threshold − 1 values)."""
    return max(threshold - 2, 1)


def attacker_bounds(model: Model, ref: Ref, threshold: int) -> tuple[float, float]:
    """What the legend alone says about a cell: « < 5 » is 1 … threshold − 1, « s » ≥ threshold."""
    mask = model.masks.get(ref)
    if mask == PRIMARY:
        return 1.0, float(threshold - 1)
    if mask == SECONDARY:
        return float(threshold), math.inf
    value = float(model.values[ref])
    return value, value


def _components(model: Model) -> list[tuple[list[Ref], list[Equation]]]:
    hidden = [r for r, m in model.masks.items() if m]
    parent = {r: r for r in hidden}

    def find(r):
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    equations_of = []
    for eq in model.equations:
        inside = [r for _, r in eq.terms if model.masks.get(r)]
        if inside:
            equations_of.append((eq, inside))
            for other in inside[1:]:
                parent[find(other)] = find(inside[0])
    groups: dict[Ref, tuple[list[Ref], list[Equation]]] = {}
    for r in hidden:
        groups.setdefault(find(r), ([], []))[0].append(r)
    for eq, inside in equations_of:
        groups[find(inside[0])][1].append(eq)
    return list(groups.values())


def _single_equation_bounds(model: Model, eq: Equation, refs: list[Ref], threshold: int) -> dict[Ref, tuple]:
    """Feasible intervals of the hidden cells of one equation ``Σ c x = 0`` (c = ±1)."""
    constant = sum(c * model.values[r] for c, r in eq.terms if not model.masks.get(r))
    hidden = [(c, r) for c, r in eq.terms if model.masks.get(r)]
    others = _others_sums(model, hidden, threshold)
    return {r: _single_equation_bound(model, constant, others(r), eq.kind, c, r, threshold) for c, r in hidden}


def _others_sums(model: Model, hidden: list[tuple[int, Ref]], threshold: int):
    """For each hidden cell ``r`` of an equation, the lowest and highest values the legend allows
    for ``Σ c·x`` over the equation's *other* hidden terms — computed once for all the cells (the
    whole sum less the cell's own terms), not again for each (an equation of a table with hundreds
    of hidden cells took a quadratic time). Lowest terms are finite or −∞ (a cell hidden as ≥ the
    threshold, subtracted), highest ones finite or +∞: the infinities are counted apart, so that
    removing a cell's own never gives ∞ − ∞."""
    own_low: dict[Ref, tuple[float, int]] = {}
    own_high: dict[Ref, tuple[float, int]] = {}
    total_low, total_high = [0.0, 0], [0.0, 0]
    for c, r in hidden:
        lo, hi = attacker_bounds(model, r, threshold)
        term_low, term_high = (c * lo, c * hi) if c > 0 else (c * hi, c * lo)
        for term, own, total in ((term_low, own_low, total_low), (term_high, own_high, total_high)):
            finite, infinite = own.get(r, (0.0, 0))
            if math.isinf(term):
                own[r], total[1] = (finite, infinite + 1), total[1] + 1
            else:
                own[r], total[0] = (finite + term, infinite), total[0] + term

    def others(r: Ref) -> tuple[float, float]:
        (low_finite, low_infinite), (high_finite, high_infinite) = own_low[r], own_high[r]
        low = -math.inf if total_low[1] - low_infinite else total_low[0] - low_finite
        high = math.inf if total_high[1] - high_infinite else total_high[0] - high_finite
        return low, high

    return others


def _single_equation_bound(model: Model, constant: int, others: tuple[float, float], kind: str, c: int, r: Ref,
                           threshold: int) -> tuple[float, float]:
    """The interval of the hidden term ``c·r`` of one equation (``constant``: its shown terms;
    ``others``: the range of the sum of its other hidden terms, :func:`_others_sums`)."""
    low, high = attacker_bounds(model, r, threshold)
    # c·x = −constant − Σ others; the others' sum ranges over [others_low, others_high].
    others_low, others_high = others
    if kind == "eq":
        a, b = (-constant - others_high) / c, (-constant - others_low) / c
        low, high = max(low, min(a, b)), min(high, max(a, b))
    elif c > 0:  # c·x ≤ −constant − others_low
        high = min(high, (-constant - others_low) / c)
    else:
        low = max(low, (-constant - others_low) / c)
    return low, high


_solvers = threading.local()


def _solver():
    """One HiGHS instance per thread, reused (its set-up costs more than the small programs it
    solves); its banner, printed once on creation, is kept off the process's output."""
    solver = getattr(_solvers, "highs", None)
    if solver is None:
        import highspy

        with _quiet_stdout():
            solver = highspy.Highs()
        solver.setOptionValue("output_flag", False)
        _solvers.highs = solver
    return solver


@contextlib.contextmanager
def _quiet_stdout():
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _lp_load(model: Model, refs: list[Ref], equations: list[Equation], threshold: int) -> dict[Ref, int]:
    """Load a component's program into this thread's HiGHS instance; the column of each unknown."""
    return _lp_program(model, refs, equations, threshold)[0]


def _lp_program(model: Model, refs: list[Ref], equations: list[Equation],
                threshold: int) -> tuple[dict[Ref, int], list[float]]:
    """:func:`_lp_load`, with the constant of each row (its shown terms), in one call to HiGHS."""
    import highspy
    import numpy as np

    index = {r: k for k, r in enumerate(refs)}
    infinity = highspy.kHighsInf
    solver = _solver()
    solver.clearModel()
    lows, highs = zip(*(attacker_bounds(model, r, threshold) for r in refs), strict=True)
    solver.addVars(len(refs), np.array(lows, dtype=float), np.array([min(h, infinity) for h in highs], dtype=float))
    starts, columns, coefficients, lower, upper, constants = [], [], [], [], [], []
    for eq in equations:
        starts.append(len(columns))
        constant = 0.0
        for c, r in eq.terms:
            if r in index:
                columns.append(index[r])
                coefficients.append(float(c))
            else:
                constant += c * model.values[r]
        constants.append(constant)
        lower.append(-constant if eq.kind == "eq" else -infinity)
        upper.append(-constant)
    if equations:
        solver.addRows(len(equations), np.array(lower, dtype=float), np.array(upper, dtype=float), len(columns),
                       np.array(starts, dtype=np.int32), np.array(columns, dtype=np.int32),
                       np.array(coefficients, dtype=float))
    return index, constants


def _lp_solve(model: Model, index: dict[Ref, int], r: Ref, on_optimal=None) -> tuple[float, float]:
    """Smallest and largest value of one unknown of the program loaded by :func:`_lp_load`.
    ``on_optimal(solver)`` is called after each optimal solve (the solution is then the solver's)."""
    import highspy

    solver = _solver()
    k = index[r]
    solver.changeColCost(k, 1.0)
    ends = []
    for sense in (highspy.ObjSense.kMinimize, highspy.ObjSense.kMaximize):
        solver.changeObjectiveSense(sense)
        solver.run()
        status = solver.getModelStatus()
        if status == highspy.HighsModelStatus.kOptimal:
            ends.append(solver.getInfo().objective_function_value)
            if on_optimal is not None:
                on_optimal(solver)
        elif status in (highspy.HighsModelStatus.kUnbounded, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            ends.append(math.inf if sense == highspy.ObjSense.kMaximize else -math.inf)
        else:  # cannot happen with true data: count the cell as pinned down (protect more)
            ends.append(float(model.values[r]))
    solver.changeColCost(k, 0.0)
    return ends[0], ends[1]


def _lp_bounds(model: Model, refs: list[Ref], equations: list[Equation], threshold: int) -> dict[Ref, tuple]:
    """Smallest and largest value of each unknown of a component, by linear programming (HiGHS)."""
    index = _lp_load(model, refs, equations, threshold)
    return {r: _lp_solve(model, index, r) for r in refs}


def _component_bounds(model: Model, refs: list[Ref], equations: list[Equation], threshold: int) -> dict:
    if not equations:
        return {r: attacker_bounds(model, r, threshold) for r in refs}
    if len(equations) == 1:
        return _single_equation_bounds(model, equations[0], refs, threshold)
    return _lp_bounds(model, refs, equations, threshold)


def audit(model: Model, threshold: int, *, only: Ref | None = None,
          known: dict[Ref, tuple[float, float]] | None = None) -> dict[Ref, tuple[float, float]]:
    """The feasible interval of every hidden cell given everything published with it; with
    ``only``, the intervals of ``known`` are kept except in the component of ``only`` (hiding one
    more cell changes nothing elsewhere)."""
    intervals: dict[Ref, tuple[float, float]] = dict(known or {})
    for refs, equations in _components(model):
        if only is None or only in refs:
            intervals.update(_component_bounds(model, refs, equations, threshold))
    return intervals


def small_groups(model: Model) -> set[Ref]:
    """Cells of a wholly small group: an equation whose every non-zero term is a « < 5 » cell (a
    breakdown of 3 people whose total is « < 5 » too). Nothing can widen their range beyond the
    group's size without hiding zeros, so they are only required never to be known exactly."""
    cells = set()
    for eq in model.equations:
        terms = [r for _, r in eq.terms if model.values[r]]
        if terms and all(model.masks.get(r) == PRIMARY for r in terms):
            cells.update(terms)
    return cells


def required_width(model: Model, ref: Ref, threshold: int, small: set[Ref]) -> int:
    return 1 if ref in small else protection_width(threshold)


def _too_narrow(model: Model, ref: Ref, interval: tuple[float, float], threshold: int, small: set[Ref]) -> bool:
    low, high = interval
    low, high = math.ceil(low - 1e-6), (high if math.isinf(high) else math.floor(high + 1e-6))
    return high - low < required_width(model, ref, threshold, small)


def under_protected(model: Model, threshold: int, intervals: dict | None = None) -> list[Ref]:
    """Hidden cells whose feasible interval is narrower than the protection range."""
    intervals = audit(model, threshold) if intervals is None else intervals
    small = small_groups(model)
    return [ref for ref, interval in intervals.items() if _too_narrow(model, ref, interval, threshold, small)]


def protect(model: Model, threshold: int, *, max_rounds: int = 500) -> list[Ref]:
    """Add secondary suppressions until every hidden cell is protected; returns what was added.

    Each round hides a cell for the first under-protected one (in the order of the first audit).
    The intervals are solved again lazily: hiding a cell of value ≥ threshold (what the legend says
    of an « s ») only widens intervals, so a cell found protected stays protected and an interval
    solved earlier is a lower bound of the current one; only a cell that looked under-protected is
    solved again, just before it would be chosen (at 10 million accompaniments a territory's output
    had ~400 hidden cells linked together and ~400 rounds: solving every cell of the component at
    each round was 160,000 linear programs, 25 s).

    The work of a round is incremental (same cells hidden, in the same order, as finding the
    components and building each program again at every round): hiding a cell only merges
    components (:class:`_Components`), and the program of the component being solved stays loaded
    in HiGHS from round to round, the hidden cell becoming one more column (:class:`_Program`).
    The solutions HiGHS found are points of the program: a cell whose values over them already
    span the protection range is protected without solving for it, and a cell found protected is
    not looked at again (until a small count hidden makes its component solved in full)."""
    added: list[Ref] = []
    stuck: set[Ref] = set()
    intervals = audit(model, threshold)
    components = _Components(model)
    program: _Program | None = None
    # Stale: solved before the last suppression (epoch) of their component.
    epoch, solved = 0, dict.fromkeys(intervals, 0)
    safe: set[Ref] = set()  # found protected on their current interval: they stay so
    # A secondary suppression is a non-zero count that was shown: it never makes a group wholly small.
    small = small_groups(model)
    for _ in range(max_rounds):
        if program is not None and not program.regular:
            program = None  # a program whose true values are not all feasible is built again every round
        weak = None
        for ref in list(intervals):
            if ref in safe or ref in stuck:
                continue
            if not _too_narrow(model, ref, intervals[ref], threshold, small):
                safe.add(ref)
                continue
            if solved.get(ref, -1) < epoch:
                equations = components.equations(ref)
                if len(equations) < 2:
                    intervals[ref] = _few_equations_bound(model, equations, ref, threshold)
                else:
                    if program is None or not program.holds(ref):
                        program = _Program(model, components, ref, threshold)
                    seen = program.seen(ref)
                    if seen is not None and not _too_narrow(model, ref, seen, threshold, small):
                        intervals[ref] = seen  # within its interval: protected, no program to solve
                    else:
                        intervals[ref] = program.solve(ref)
                solved[ref] = epoch
                if not _too_narrow(model, ref, intervals[ref], threshold, small):
                    safe.add(ref)
                    continue
            weak = ref
            break
        if weak is None:
            break
        choice = _complement(model, weak, components)
        if choice is None:
            log.warning("disclosure: no complementary cell left for %s", weak)
            stuck.add(weak)
            continue
        model.masks[choice] = SECONDARY
        added.append(choice)
        loaded = components.find(program.anchor) if program is not None else None
        joined = components.hide(choice)
        epoch += 1
        if model.values[choice] >= threshold:
            intervals.setdefault(choice, (0.0, 0.0))  # solved when its turn comes
            if program is not None:
                program = program.extended(choice, joined, loaded)
        else:  # a small count shown, hidden as ≥ threshold: intervals may narrow, solve in full
            refs = components.refs(choice)
            intervals.update(_component_bounds(model, refs, components.equations(choice), threshold))
            solved.update(dict.fromkeys(refs, epoch))
            safe.difference_update(refs)
            program = None  # HiGHS now holds that component's program, built for the audit
    return added


def _few_equations_bound(model: Model, equations: list[Equation], ref: Ref, threshold: int) -> tuple[float, float]:
    """:func:`_component_bounds` of one cell of a component of at most one equation."""
    if not equations:
        return attacker_bounds(model, ref, threshold)
    eq = equations[0]
    constant = sum(c * model.values[r] for c, r in eq.terms if not model.masks.get(r))
    hidden = [(c, r) for c, r in eq.terms if model.masks.get(r)]
    c = next(c for c, r in reversed(hidden) if r == ref)  # the dict of _single_equation_bounds keeps the last
    return _single_equation_bound(model, constant, _others_sums(model, hidden, threshold)(ref), eq.kind, c, ref,
                                  threshold)


class _Components:
    """The components of the hidden cells (cells linked by equations through hidden cells), kept up
    to date as cells are hidden: hiding a cell only merges the components of its equations (an
    equation without a hidden cell joins that of the cell just hidden)."""

    def __init__(self, model: Model):
        self.model = model
        self.position = {r: k for k, r in enumerate(model.masks)}  # the order of _components
        self.equations_of: dict[Ref, list[int]] = {}  # every cell's equations, in the model's order
        for k, eq in enumerate(model.equations):
            for _, r in eq.terms:
                of = self.equations_of.setdefault(r, [])
                if not of or of[-1] != k:
                    of.append(k)
        self.parent: dict[Ref, Ref] = {}
        self.members: dict[Ref, list[Ref]] = {}
        self.linked: dict[Ref, list[int]] = {}  # a root's equations
        self.anchor: list[Ref | None] = [None] * len(model.equations)  # a hidden cell of each equation
        # A root's complementary cells: a heap of (cost, cell) of the non-zero counts of its
        # equations, those hidden since left in it (popped when they come on top).
        self.pool: dict[Ref, list] = {}
        for r, mask in model.masks.items():
            if mask:
                self._add(r)
        for k, eq in enumerate(model.equations):
            inside = [r for _, r in eq.terms if model.masks.get(r)]
            if inside:
                for other in inside[1:]:
                    self._union(inside[0], other)
                self.anchor[k] = inside[0]
                self._link(k, self.find(inside[0]))

    def _add(self, r: Ref) -> None:
        self.parent[r] = r
        self.members[r] = [r]
        self.linked[r] = []
        self.pool[r] = []

    def _link(self, k: int, root: Ref) -> None:
        self.linked[root].append(k)
        model, pool = self.model, self.pool[root]
        for _, r in model.equations[k].terms:
            if not model.masks.get(r) and model.values[r] > 0:
                heapq.heappush(pool, (_cost(model, r), r))

    def cheapest(self, r: Ref) -> Ref | None:
        """The cheapest non-zero count shown in the equations of ``r``'s component."""
        pool, masks = self.pool[self.find(r)], self.model.masks
        while pool and masks.get(pool[0][1]):
            heapq.heappop(pool)
        return pool[0][1] if pool else None

    def find(self, r: Ref) -> Ref:
        parent = self.parent
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    def _union(self, a: Ref, b: Ref) -> Ref:
        a, b = self.find(a), self.find(b)
        if a == b:
            return a
        if len(self.members[a]) < len(self.members[b]):
            a, b = b, a
        self.parent[b] = a
        self.members[a].extend(self.members.pop(b))
        self.linked[a].extend(self.linked.pop(b))
        pool, other = self.pool[a], self.pool.pop(b)
        if len(other) > len(pool):
            pool, other = other, pool
            self.pool[a] = pool
        for entry in other:
            heapq.heappush(pool, entry)
        return a

    def hide(self, cell: Ref) -> dict[int, Ref | None]:
        """Count ``cell`` (just masked) as hidden; its equations with, for each, the root of the
        component it belonged to before (``None``: it had no hidden cell)."""
        self._add(cell)
        joined = {}
        for k in self.equations_of.get(cell, []):
            anchor = self.anchor[k]
            joined[k] = None if anchor is None else self.find(anchor)
        for k, root in joined.items():
            if root is None:
                self.anchor[k] = cell
                self._link(k, self.find(cell))
            else:
                self._union(cell, root)
        return joined

    def refs(self, r: Ref) -> list[Ref]:
        """The hidden cells of ``r``'s component, in the order of :func:`_components`."""
        return sorted(self.members[self.find(r)], key=self.position.__getitem__)

    def equations(self, r: Ref) -> list[Equation]:
        """The equations of ``r``'s component, in the model's order (as :func:`_components`)."""
        return [self.model.equations[k] for k in sorted(self.linked[self.find(r)])]


class _Program:
    """The linear program of one component loaded in this thread's HiGHS instance, extended in
    place when a cell of its equations is hidden (one more column, the constants of its rows less
    that count) instead of built again; HiGHS then starts from the previous basis."""

    def __init__(self, model: Model, components: _Components, ref: Ref, threshold: int):
        self.model, self.components, self.threshold = model, components, threshold
        self.anchor = ref
        refs = components.refs(ref)
        root = components.find(ref)
        self.rows = {k: i for i, k in enumerate(sorted(components.linked[root]))}
        self.index, self.constants = _lp_program(model, refs, [model.equations[k] for k in self.rows], threshold)
        # The true values satisfy the program (an « s » of a count ≥ threshold): a program that
        # may have no solution is not carried over to the next round, as before (HiGHS's status
        # on an infeasible program depends on how it got there).
        self.regular = all(_feasible(model, r, threshold) for r in refs)
        # The range of each unknown over solutions found (the true values first): within its
        # feasible interval, enough to show a cell protected without solving for it.
        import numpy as np

        true = np.array([model.values[r] for r in refs], dtype=float)
        self.low, self.high = true, true.copy()

    def holds(self, ref: Ref) -> bool:
        return self.components.find(ref) == self.components.find(self.anchor)

    def seen(self, ref: Ref) -> tuple[float, float] | None:
        """The range of ``ref`` over the solutions found (None for a program the true values may
        not satisfy)."""
        if not self.regular:
            return None
        k = self.index[ref]
        return float(self.low[k]), float(self.high[k])

    def solve(self, ref: Ref) -> tuple[float, float]:
        """:func:`_lp_solve`, each optimal solution widening the ranges of :meth:`seen`."""
        return _lp_solve(self.model, self.index, ref, self._widen if self.regular else None)

    def _widen(self, solver) -> None:
        import numpy as np

        values = np.array(solver.getSolution().col_value)
        np.minimum(self.low, values, out=self.low)
        np.maximum(self.high, values, out=self.high)

    def extended(self, cell: Ref, joined: dict[int, Ref | None], root: Ref) -> _Program | None:
        """The program after hiding ``cell`` (``joined``: :meth:`_Components.hide`; ``root``: this
        program's component before), or None when it merged this component with another one (built
        again when needed)."""
        import highspy
        import numpy as np

        roots = {root for root in joined.values() if root is not None}
        if not roots:
            return self  # a new component of its own: this program is unchanged
        if roots != {root} or not _feasible(self.model, cell, self.threshold):
            return None
        model, solver = self.model, _solver()
        column = len(self.index)
        entries: dict[int, float] = {}
        new_rows = []
        for k in joined:
            eq = model.equations[k]
            coefficient = sum(c for c, r in eq.terms if r == cell)
            if k in self.rows:
                row = self.rows[k]
                entries[row] = entries.get(row, 0.0) + float(coefficient)
                self.constants[row] -= coefficient * model.values[cell]
                constant = self.constants[row]
                low = -constant if eq.kind == "eq" else -highspy.kHighsInf
                solver.changeRowBounds(row, low, -constant)
            else:
                new_rows.append((k, eq, coefficient))
        low, high = attacker_bounds(model, cell, self.threshold)
        rows = sorted(entries)
        solver.addCol(0.0, low, min(high, highspy.kHighsInf), len(rows), np.array(rows, dtype=np.int32),
                      np.array([entries[r] for r in rows], dtype=float))
        self.index[cell] = column
        # A solution found stays one with the hidden count at its true value.
        self.low = np.append(self.low, float(model.values[cell]))
        self.high = np.append(self.high, float(model.values[cell]))
        for k, eq, coefficient in new_rows:
            constant = 0.0
            for c, r in eq.terms:
                if not model.masks.get(r):
                    constant += c * model.values[r]
            self.rows[k] = len(self.constants)
            self.constants.append(constant)
            low = -constant if eq.kind == "eq" else -highspy.kHighsInf
            solver.addRow(low, -constant, 1, np.array([column], dtype=np.int32), np.array([float(coefficient)]))
        return self


def _cost(model: Model, ref: Ref) -> tuple:
    """The information lost in hiding a shown count: a total or a key figure only after the cells of
    its table, then the smallest count."""
    return (ref in model.totals, model.values[ref], ref)


def _feasible(model: Model, ref: Ref, threshold: int) -> bool:
    low, high = attacker_bounds(model, ref, threshold)
    return low <= model.values[ref] <= high


def _complement(model: Model, weak: Ref, components: dict[Ref, tuple] | _Components | None = None) -> Ref | None:
    """The visible cell to hide for ``weak``: in the equations of its component (the cells linked to
    it through hidden cells) with the fewest hidden cells, its own first among equals, the cheapest
    non-zero count (``components``: each hidden cell's component under the current masks, when
    already known).

    Not only its own equations: a hidden cell may be pinned through another hidden cell. A place
    alone in its commune is its commune's count (one equation, two hidden cells) and that commune's
    count is printed again, visible, in the coverage table (one hidden cell): the place is known
    exactly whatever else its own table hides. Looking at its own equations first hid, one by one,
    every place of a territory, then the totals and the key figures (10 million accompaniments:
    the accompaniments of a territory's whole dashboard printed « s »)."""
    def cost(ref):
        return _cost(model, ref)

    def candidates(eq):
        return [r for _, r in eq.terms if not model.masks.get(r) and model.values[r] > 0]

    def hidden(eq):
        return sum(1 for _, r in eq.terms if model.masks.get(r))

    if isinstance(components, _Components):
        own = set(components.equations_of.get(weak, []))
        linked = components.linked.get(components.find(weak), []) if weak in components.parent else []
        equations = [(k not in own, k, model.equations[k]) for k in own.union(linked)]
    else:
        if components is None:
            components = {r: component for component in _components(model) for r in component[0]}
        linked = components[weak][1] if weak in components else []
        own_equations = [eq for eq in model.equations if any(r == weak for _, r in eq.terms)]
        seen = {id(eq) for eq in own_equations}
        equations = [(False, k, eq) for k, eq in enumerate(own_equations)]
        equations += [(True, len(own_equations) + k, eq) for k, eq in enumerate(linked) if id(eq) not in seen]
    equations.sort(key=lambda item: (hidden(item[2]), item[0], item[1]))
    for _, _, eq in equations:
        found = candidates(eq)
        if found:
            return min(found, key=cost)
    return None


# --- applying the masks to the output -----------------------------------------------------------

def protect_dashboard(dashboard: Dashboard) -> list[Ref]:
    """Protect the dashboard's figures and tables together (in place); the cells it hid."""
    model = build_model(dashboard)
    added = protect(model, dashboard.threshold)
    if not added:
        _hide_derived(dashboard)
        return added
    tables = {t.code: t for t in dashboard.tables()}
    figures = {f.code: f for f in dashboard.figures()}
    for ref in added:
        if ref[0] == "t":
            _, code, i, j = ref
            table = tables[code]
            row = table.total if i == TOTAL_ROW else table.rows[i]
            row.cells[j] = _hidden_cell(row.cells[j])
        else:
            _, code, part = ref
            figure = figures[code]
            if part == "value":
                figure.value, figure.display, figure.mask = None, SECONDARY_LABEL, SECONDARY
            else:
                setattr(figure, part, _hidden_cell(getattr(figure, part)))
    _hide_derived(dashboard)
    return added


def _hidden_cell(cell: Cell) -> Cell:
    return Cell(None, SECONDARY_LABEL, SECONDARY, count=cell.count)


def _hide_derived(dashboard: Dashboard) -> None:
    """What is computed from a hidden count goes with it: shares, rates and intervals, ratios, a
    rate figure, a mean's « sur N personnes », the accompaniments per beneficiary."""
    threshold = dashboard.threshold
    for table in dashboard.tables():
        # A breakdown's shares are of its total (or of its base): hidden with it.
        total_hidden = bool(table.total and table.total.cells and table.total.cells[0].mask)
        for row in table.rows + ([table.total] if table.total else []):
            for j, sources in table.derived.items():
                if j >= len(row.cells) or row.cells[j].mask:
                    continue
                masks = [row.cells[s].mask for s in sources if s < len(row.cells) and row.cells[s].mask]
                if table.kind == "breakdown" and total_hidden and row is not table.total:
                    masks.append(SECONDARY)  # shares of a hidden total would give the total back
                if not masks:
                    continue
                mask = PRIMARY if PRIMARY in masks else SECONDARY
                if table.kind == "rate":
                    row.cells[j] = Cell(None, NOT_COMPUTED if j == 2 else "", mask)
                else:
                    row.cells[j] = Cell(None, f"< {threshold}" if mask == PRIMARY else SECONDARY_LABEL, mask)
    for figure in dashboard.figures():
        parts = [c for c in (figure.numerator, figure.denominator) if c is not None]
        if figure.kind == "rate" and any(c.mask for c in parts):
            figure.value, figure.display, figure.interval = None, NOT_COMPUTED, ""
            figure.mask = figure.mask or next(c.mask for c in parts if c.mask)
            figure.detail = f"{figure.numerator.display} sur {figure.denominator.display} {figure.unit_label}" \
                + HIDDEN_RATE
        elif figure.kind in ("mean", "median") and figure.denominator is not None \
                and figure.denominator.mask == SECONDARY and figure.detail.startswith("sur "):
            figure.detail = f"sur {SECONDARY_LABEL} {figure.unit_label}"
    ratio = dashboard.figure("resultats.accompagnements_par_beneficiaire")
    sources = [dashboard.figure("moyens.accompagnements"), dashboard.figure("moyens.beneficiaires")]
    if ratio is not None and ratio.value is not None and any(f is not None and f.mask for f in sources):
        ratio.value, ratio.display, ratio.mask = None, SECONDARY_LABEL, SECONDARY


def hidden_cells(dashboard: Dashboard) -> dict[Ref, str]:
    """Every hidden count of a dashboard by reference (for tests and the method annex)."""
    model = build_model(dashboard)
    return {r: m for r, m in model.masks.items() if m}


