"""Disclosure control of one output as a whole, attacked the way the independent checks did.

The attacker reads what an output family publishes (the dashboard's cells and the PDF's, the XLSX
workbook, the API's JSON), writes every published equation between the tables and the key figures
and solves integer linear programs (scipy ``milp``) for the smallest and the largest value of each
hidden cell. The stated protection range (docs/secret-statistique.md): a « < 5 » cell keeps its
whole range 1 … 4, an « s » cell an interval of width ≥ 3 (at least 4 possible values)."""

from __future__ import annotations

import io
import math
import random
from datetime import date, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from scipy.optimize import Bounds, LinearConstraint, milp

from mediation.auth.services import create_api_token
from mediation.evaluation import api, disclosure, exports, indicators, method, report, results
from mediation.evaluation.method import PRIMARY as P
from mediation.evaluation.method import SECONDARY as S
from mediation.evaluation.models import Programme
from mediation.evaluation.results import Dashboard, Section
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise, parse_filter, whole_months
from mediation.types import local_today, utcnow

from .conftest import YEAR
from .test_privacy import private_data  # noqa: F401 - the same hand-built records

T = 5


# --- the attacker -------------------------------------------------------------------------------

def attack(published: dict, equations, threshold: int = T) -> dict:
    """published: ref → a number (shown) or a marker (« < 5 », « s »). Returns ref → (min, max)
    of every hidden cell under every equation, by integer programming."""
    refs = sorted({r for eq in equations for _, r in eq.terms} | set(published), key=repr)
    index = {r: k for k, r in enumerate(refs)}
    low, high = np.zeros(len(refs)), np.full(len(refs), np.inf)
    for ref, shown in published.items():
        k = index[ref]
        if shown == f"< {threshold}":
            low[k], high[k] = 1, threshold - 1
        elif shown == "s":
            low[k] = threshold
        else:
            low[k] = high[k] = shown
    rows, lbs, ubs = [], [], []
    for eq in equations:
        line = np.zeros(len(refs))
        for c, r in eq.terms:
            line[index[r]] += c
        rows.append(line)
        lbs.append(0 if eq.kind == "eq" else -np.inf)
        ubs.append(0)
    constraints = [LinearConstraint(np.array(rows), lbs, ubs)] if rows else []
    out = {}
    for ref, shown in published.items():
        if not isinstance(shown, str):
            continue
        ends = []
        for sign in (1, -1):
            c = np.zeros(len(refs))
            c[index[ref]] = sign
            result = milp(c, constraints=constraints, integrality=np.ones(len(refs)), bounds=Bounds(low, high))
            ends.append(-sign * math.inf if result.status != 0 else sign * result.fun)
        out[ref] = tuple(ends)
    return out


def weak_cells(published: dict, equations, threshold: int = T) -> dict:
    """Hidden cells the attacker narrows beyond the protection range."""
    small = set()  # wholly small groups: every non-zero term of an equation shown « < 5 »
    for eq in equations:
        terms = [r for _, r in eq.terms if published[r] != 0]
        if terms and all(published[r] == f"< {threshold}" for r in terms):
            small.update(terms)
    weak = {}
    for ref, (low, high) in attack(published, equations, threshold).items():
        if high - low < (1 if ref in small else threshold - 2):
            weak[ref] = (low, high)
    return weak


# --- what each output family publishes -----------------------------------------------------------

def _shown(value, display):
    return display if value is None and display in (f"< {T}", "s") else value


def from_dashboard(dashboard: Dashboard, model, printed: Dashboard | None = None) -> dict:
    """What the dashboard shows — or, with ``printed``, what the PDF prints (its coverage table
    keeps the communes with a structure or an accompaniment; the others are named in a note with
    their residents as the table displays them)."""
    tables = {t.code: t for t in dashboard.tables()}
    printed_tables = {t.code: t for t in (printed or dashboard).tables()}
    figures = {f.code: f for f in (printed or dashboard).figures()}
    out = {}
    for ref in model.values:
        if ref[0] == "t":
            table = tables[ref[1]]
            row = table.total if ref[2] == disclosure.TOTAL_ROW else table.rows[ref[2]]
            if printed is not None and ref[2] != disclosure.TOTAL_ROW:
                kept = {r.key: r for r in printed_tables[ref[1]].rows}
                if row.key in kept:
                    row = kept[row.key]
                else:
                    assert row.label in printed_tables[ref[1]].note
            cell = row.cells[ref[3]]
            out[ref] = _shown(cell.value, cell.display)
        else:
            figure = figures[ref[1]]
            cell = figure if ref[2] == "value" else getattr(figure, ref[2])
            out[ref] = _shown(cell.value, cell.display)
    return out


def from_api(payload: dict, model) -> dict:
    tables = {t["code"]: t for s in payload["sections"] for t in s["tableaux"]}
    figures = {f["code"]: f for s in payload["sections"] for f in s["chiffres"]}
    out = {}
    for ref in model.values:
        if ref[0] == "t":
            table = tables[ref[1]]
            row = table["total"] if ref[2] == disclosure.TOTAL_ROW else table["lignes"][ref[2]]
            out[ref] = _shown(row["valeurs"][ref[3]], row["affichages"][ref[3]])
        else:
            figure = figures[ref[1]]
            if ref[2] == "value":
                out[ref] = _shown(figure["valeur"], figure["affichage"])
            else:
                cell = figure[{"numerator": "numerateur", "denominator": "denominateur"}[ref[2]]]
                out[ref] = _shown(cell["valeur"], cell["affichage"])
    return out


def from_xlsx(content: bytes, dashboard: Dashboard, model) -> dict:
    """Reads the workbook back: each table after its title row, each key figure by its code."""
    workbook = load_workbook(io.BytesIO(content))
    rows_of = {}
    figure_rows = {}
    for sheet, section in zip(workbook.worksheets[1:], dashboard.sections, strict=True):
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        for r in rows:
            if r and r[0] in {f.code for f in section.figures}:
                figure_rows[r[0]] = r
        cursor = 0
        for table in section.tables:
            while rows[cursor][0] != table.title:
                cursor += 1
            body = rows[cursor + 2: cursor + 2 + len(table.rows) + (1 if table.total else 0)]
            rows_of[table.code] = body
            cursor += 2 + len(body)

    def cell(value):
        return value if value in (f"< {T}", "s") or not isinstance(value, str) else value

    out = {}
    for ref in model.values:
        if ref[0] == "t":
            body = rows_of[ref[1]]
            row = body[-1] if ref[2] == disclosure.TOTAL_ROW else body[ref[2]]
            out[ref] = cell(row[1 + ref[3]])
        else:
            row = figure_rows[ref[1]]
            out[ref] = cell(row[{"value": 2, "numerator": 4, "denominator": 5}[ref[2]]])
    return out


def assert_protected(dashboard: Dashboard, families: dict) -> int:
    """Every family publishes the same figures (visible ones true) and none lets the attacker
    narrow a hidden cell; returns how many cells are hidden."""
    model = disclosure.build_model(dashboard)
    hidden = {r for r, m in model.masks.items() if m}
    # What is computed from a hidden count is not published either (shares, rates, ratios).
    for table in dashboard.tables():
        for row in table.rows + ([table.total] if table.total else []):
            for j, sources in table.derived.items():
                if any(row.cells[k].mask for k in sources):
                    assert row.cells[j].value is None, (table.code, row.label, j)
    coverage = dashboard.table("maillage.communes")
    assert coverage is None or all(row.cells[0].mask is None for row in coverage.rows)  # population is public
    for name, published in families.items():
        for ref, shown in published.items():
            if ref in hidden:
                assert isinstance(shown, str), (name, ref, shown)
            else:
                assert shown == model.values[ref], (name, ref, shown, model.values[ref])
        assert weak_cells(published, model.equations, dashboard.threshold) == {}, name
    return len(hidden)


# --- the probes of the independent checks, on hand-built tables ----------------------------------

def _probe_dashboard() -> Dashboard:
    f = results
    means = Section("moyens", "Moyens")
    # Structures 1–4 in commune A (23 + 16 + 11 + 1 = 51), 5 and 6 in commune B (8 + 40).
    structures = [("1", "S1", 23), ("2", "S2", 16), ("3", "S3", 11), ("4", "S4", 1), ("5", "S5", 8), ("6", "S6", 40)]
    means.figures.append(f.count_figure("moyens.accompagnements", "Accompagnements", 99, T))
    means.tables.append(f.breakdown_table("moyens.par_structure", "x", "Par structure", "Structure", structures, T))
    communes = f.breakdown_table("moyens.par_commune", "x", "Par commune", "Commune",
                                 [("76001", "A", 51), ("76002", "B", 48)], T)
    communes.parts_of, communes.parts = "moyens.par_structure", {"76001": ["1", "2", "3", "4"], "76002": ["5", "6"]}
    means.tables.append(communes)
    outputs = Section("realisations", "Réalisations")
    outputs.tables.append(f.breakdown_table("realisations.jalons", "x", "Jalons", "Jalon",
                                            [("etape", "Étapes", 30), ("niveau", "Niveaux", 14),
                                             ("parcours", "Parcours", 9)], T, percent=False, total=False))
    outputs.tables.append(f.breakdown_table("realisations.badges", "x", "Badges", "Niveau", [
        ("Niveau 1 · Étape", "Niveau 1 · Étape", 30), ("Niveau 1 atteint", "Niveau 1 atteint", 12),
        ("Niveau 2 atteint", "Niveau 2 atteint", 2), ("Parcours complet", "Parcours complet", 9)], T))
    statuses = [("proposee", "En attente", 10), ("acceptee", "Acceptée", 8), ("refusee", "Refusée", 6),
                ("honoree", "Honorée", 20), ("non_honoree", "Non honorée", 7), ("annulee", "Annulée", 1)]
    outputs.tables.append(f.breakdown_table("realisations.orientations", "x", "Orientations", "État", statuses, T))
    outcomes = Section("resultats", "Résultats")
    matrix = [[30, 4, 1], [6, 40, 51], [2, 7, 60]]
    outcomes.tables.append(f.matrix_table("resultats.transitions", "x", "Transitions", "Premier", ["1", "2", "3"],
                                          ["1", "2", "3"], matrix, T))
    grand = sum(map(sum, matrix))
    outcomes.figures.append(f.rate_figure("resultats.progression_autonomie", "Progression", 4 + 1 + 51, grand, T))
    outcomes.figures.append(f.rate_figure("resultats.orientations_honorees", "Honorées", 15, 51, T,
                                          unit_label="orientations"))
    return Dashboard([], {}, [means, outputs, outcomes], T, utcnow())


def test_the_probes_recover_cells_of_tables_suppressed_one_by_one_and_fail_on_the_whole_output():
    dashboard = _probe_dashboard()
    model = disclosure.build_model(dashboard)
    weak = weak_cells(from_dashboard(dashboard, model), model.equations)
    # Table by table, the checks' recoveries work: the structure « < 5 » = 51 − (23 + 16 + 11), the
    # cancelled referral = all − the honoured rate's denominator, the « Niveau 2 atteint » badges
    # from the milestones table, the transition matrix's cells from the progression numerator.
    assert weak[("t", "moyens.par_structure", 3, 0)] == (1, 1)
    assert weak[("t", "realisations.orientations", 5, 0)] == (1, 1)
    assert weak[("t", "realisations.badges", 2, 0)] == (2, 2)
    assert any(ref[1] == "resultats.transitions" for ref in weak)

    added = disclosure.protect_dashboard(dashboard)
    assert added
    assert assert_protected(dashboard, {"tableau de bord": from_dashboard(dashboard, disclosure.build_model(dashboard)),
                                        "api": from_api(api.dashboard_json(dashboard),
                                                        disclosure.build_model(dashboard))})
    # The least information lost: the complementary structure is in commune A, not the total.
    hidden = {r for r, m in disclosure.build_model(dashboard).masks.items() if m}
    assert ("t", "moyens.par_structure", disclosure.TOTAL_ROW, 0) not in hidden
    assert ("f", "moyens.accompagnements", "value") not in hidden
    # A rate whose numerator or denominator went is not published, and says why.
    honoured = dashboard.figure("resultats.orientations_honorees")
    assert honoured.value is None and "secret statistique" in honoured.detail


# --- the method fixes --------------------------------------------------------------------------

def test_without_a_published_total_nothing_is_hidden_but_the_small_count():
    assert method.suppress_breakdown([57, 2, 26], T, total=False) == ([None, P, None], None)
    # With the total, the complementary cell is the smallest, not the last one.
    assert method.suppress_breakdown([57, 2, 26], T) == ([None, P, S], None)
    assert method.suppress_breakdown([26, 2, 57], T) == ([S, P, None], None)


def test_a_place_pinned_through_its_commune_does_not_hide_its_whole_territory():
    """Seen at 10 million accompaniments: a place alone in its commune (its count is its commune's)
    whose commune's count is printed again, shown, in the coverage table. Its table's complementary
    cell was hidden for a small place; the commune (one hidden cell in its equation) pinned it
    whatever else the table hid. The cell to hide is that commune's count in the coverage table, not
    every place of the territory, then the totals and the key figures."""
    model = disclosure.Model()
    places = [2981, 2578, 2416, 2302, 2248, 1900, 1750, 111, 3]
    key = ("f", "moyens.accompagnements", "value")
    model.add(key, sum(places), None, total=True)
    model.add(("t", "structures", TOTAL := disclosure.TOTAL_ROW, 0), sum(places), None, total=True)
    masks = {7: S, 8: P}  # the small place and its table's complementary cell
    for i, count in enumerate(places):
        model.add(("t", "structures", i, 0), count, masks.get(i))
    # Communes: the first seven places share two communes; the last two are alone in theirs.
    communes = [sum(places[:4]), sum(places[4:7]), 111, 3]
    members = [range(0, 4), range(4, 7), [7], [8]]
    model.add(("t", "communes", TOTAL, 0), sum(places), None, total=True)
    for j, count in enumerate(communes):
        model.add(("t", "communes", j, 0), count, {2: S, 3: P}.get(j))
        model.add(("t", "coverage", j, 2), count, P if count < T else None)  # the coverage table's column
        model.sum_equals(("t", "communes", j, 0), [("t", "structures", i, 0) for i in members[j]], "commune")
        model.equal([("t", "communes", j, 0), ("t", "coverage", j, 2)], "commune")
    model.sum_equals(("t", "structures", TOTAL, 0), [("t", "structures", i, 0) for i in range(len(places))],
                     "structures")
    model.sum_equals(("t", "communes", TOTAL, 0), [("t", "communes", j, 0) for j in range(len(communes))],
                     "communes")
    model.equal([key, ("t", "structures", TOTAL, 0), ("t", "communes", TOTAL, 0)], "accompagnements")
    added = disclosure.protect(model, T)
    assert not disclosure.under_protected(model, T)
    assert ("t", "coverage", 2, 2) in added  # the commune's second print, hidden with it
    assert not model.masks[key] and not model.masks[("t", "structures", TOTAL, 0)]
    assert len(added) <= 3, added


def test_a_true_zero_is_printed_0_and_the_legend_holds():
    table = results.rate_table("resultats.cohortes", "x", "Cohortes", "Cohorte",
                               [("2025-01-01", "janv. 2025", 0, 3), ("2025-02-01", "févr. 2025", 6, 20)], T)
    first = table.rows[0].cells
    assert first[1].display == "0" and first[1].value == 0  # nobody finished: 0, not « < 5 »
    assert first[0].display == "< 5"  # the 3 enrolled: 1 to 4, as the legend says
    assert first[2].value is None  # no rate on a hidden denominator
    for row in table.rows + [table.total]:
        for cell in row.cells[:2]:
            if cell.display == "< 5":
                assert 0 < cell.count < T


# --- demo data and synthetic data, every output family ---------------------------------------------

def _families(app, client, dashboard, raw_token, query) -> dict:
    model = disclosure.build_model(dashboard)
    response = client.get(f"/api/v1/indicateurs?{query}", headers={"Authorization": f"Bearer {raw_token}"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {
        "tableau de bord": from_dashboard(dashboard, model),
        "rapport PDF": from_dashboard(dashboard, model, report.report_dashboard(dashboard)),
        "XLSX": from_xlsx(exports.dashboard_xlsx(dashboard), dashboard, model),
        "API": from_api(response.json, model),
    }


def test_demo_outputs_resist_the_linear_programming_attacker(app, client, session, network):
    from mediation.cases.demo import load_cases_demo
    from mediation.evaluation.demo import load_evaluation_demo

    users = [network.admin, network.coordinator, network.mediator, network.mediator_b, network.aidant,
             network.funder]
    load_cases_demo(session, territory=network.territory, structures=[network.structure_a, network.structure_b],
                    users=users, scale=0.4)
    load_evaluation_demo(session, territory=network.territory, structures=[network.structure_a, network.structure_b],
                         users=users)
    _, raw = create_api_token(session, network.funder, "Financeur", ["indicators:read"])
    session.commit()
    programme = session.scalar(sa.select(Programme).where(Programme.funder_id == network.funder.funder_id))
    f = authorise(session, network.funder, parse_filter({"programme": str(programme.id)}))
    hidden = 0
    for structure in (None, network.structure_a.id, network.structure_b.id):
        g = EvaluationFilter(**{**{k: getattr(f, k) for k in ("start", "end", "programme_id")},
                                "structure_id": structure})
        dashboard = indicators.compute_dashboard(Scope(session, network.funder, authorise(session, network.funder, g)))
        hidden += assert_protected(dashboard, _families(app, client, dashboard, raw, dashboard.query_args and
                                                        "&".join(f"{k}={v}" for k, v in dashboard.query_args.items())))
    assert hidden > 0  # the attack had something to find


def test_synthetic_outputs_resist_the_linear_programming_attacker(app, client, session, network):
    from mediation.synth import SynthOptions, load

    end = local_today().replace(day=1) - timedelta(days=1)
    load(session, SynthOptions(accompaniments=1200, seed=11, territories=1, months=4, end=end))
    session.commit()
    _, raw = create_api_token(session, network.admin, "Admin", ["indicators:read"])
    session.commit()
    from mediation.directory.models import Structure

    structures = session.scalars(sa.select(Structure.id).order_by(Structure.id.desc()).limit(2)).all()
    hidden = 0
    for structure in [None, *structures]:
        args = {"du": end.replace(day=1).isoformat(), "au": end.isoformat()}
        if structure:
            args["structure"] = str(structure)
        dashboard = indicators.compute_dashboard(Scope(session, network.admin,
                                                       authorise(session, network.admin, parse_filter(args))))
        query = "&".join(f"{k}={v}" for k, v in dashboard.query_args.items())
        hidden += assert_protected(dashboard, _families(app, client, dashboard, raw, query))
    assert hidden > 0


# --- differencing across queries ---------------------------------------------------------------------

@pytest.mark.usefixtures("private_data")
def test_two_periods_a_day_apart_give_the_same_figures_to_a_funder(client, session, network, funder_setup):
    """The check's probe: 1–29 then 1–30 November, the difference was one day's accompaniments.
    A funder's period is widened to whole months: both requests are the same months, the same
    figures, nothing to subtract."""
    _, raw = create_api_token(session, network.funder, "Financeur", ["indicators:read"])
    session.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    p = funder_setup.p1.id
    first = client.get(f"/api/v1/indicateurs?programme={p}&du={YEAR}-05-01&au={YEAR}-06-02", headers=headers)
    second = client.get(f"/api/v1/indicateurs?programme={p}&du={YEAR}-05-01&au={YEAR}-06-03", headers=headers)
    assert first.status_code == second.status_code == 200
    one, two = first.json, second.json
    assert one["filtres"]["au"] == two["filtres"]["au"] == f"{YEAR}-06-30"
    assert one["sections"] == two["sections"]
    labels = dict((r["filtre"], r["valeur"]) for r in one["filtres_libelles"])
    assert "mois entiers" in labels["Période demandée"]


def test_the_month_in_progress_is_refused_to_a_funder_with_a_french_message(client, session, network, funder_setup):
    today = local_today()
    funder_setup.p1.ends_on = today + timedelta(days=400)
    _, raw = create_api_token(session, network.funder, "Financeur", ["indicators:read"])
    session.commit()
    first_day = today.replace(day=1)
    response = client.get(f"/api/v1/indicateurs?programme={funder_setup.p1.id}&du={first_day}&au={today}",
                          headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 400
    assert "mois entiers et terminés" in str(response.json)


@pytest.mark.usefixtures("private_data")
def test_open_data_is_whole_months_for_everyone(client, login, network, session):
    login(client, network.coordinator)
    a = client.get(f"/evaluation/donnees-ouvertes.csv?du={YEAR}-03-01&au={YEAR}-03-17")
    b = client.get(f"/evaluation/donnees-ouvertes.csv?du={YEAR}-03-01&au={YEAR}-03-18")
    assert a.status_code == b.status_code == 200
    assert a.data == b.data
    assert f"{YEAR}-03-01,{YEAR}-03-31" in a.get_data(as_text=True)


def test_whole_months():
    today = date(2026, 12, 3)
    f = EvaluationFilter(start=date(2026, 11, 1), end=date(2026, 11, 29))
    assert (whole_months(f, today=today).start, whole_months(f, today=today).end) == (date(2026, 11, 1),
                                                                                     date(2026, 11, 30))
    assert whole_months(EvaluationFilter(start=date(2026, 1, 15), end=date(2026, 12, 2)), today=today).end == \
        date(2026, 11, 30)
    with pytest.raises(Exception, match="mois entiers"):
        whole_months(EvaluationFilter(start=date(2026, 12, 1), end=date(2026, 12, 2)), today=today)


def _protect_reference(model, threshold):
    """The protection loop solving every cell of the changed component again at each round (before
    the lazy re-solving of issue 18): the lazy loop must hide exactly the same cells."""
    added, stuck = [], set()
    intervals = disclosure.audit(model, threshold)
    for _ in range(500):
        weak = [r for r in disclosure.under_protected(model, threshold, intervals) if r not in stuck]
        if not weak:
            break
        choice = disclosure._complement(model, weak[0])
        if choice is None:
            stuck.add(weak[0])
            continue
        model.masks[choice] = S
        added.append(choice)
        intervals = disclosure.audit(model, threshold, only=choice, known=intervals)
    return added


def test_lazy_protection_hides_the_same_cells_as_solving_everything_again(session, network, monkeypatch):
    import copy

    from mediation.synth import SynthOptions, load

    end = local_today().replace(day=1) - timedelta(days=1)
    load(session, SynthOptions(accompaniments=1200, seed=11, territories=1, months=4, end=end))
    session.commit()
    protect, compared = disclosure.protect, []

    def checked(model, threshold, **kwargs):
        expected = _protect_reference(copy.deepcopy(model), threshold)
        added = protect(model, threshold, **kwargs)
        assert added == expected
        compared.append(len(added))
        return added

    monkeypatch.setattr(disclosure, "protect", checked)
    from mediation.directory.models import Structure

    structures = session.scalars(sa.select(Structure.id).order_by(Structure.id.desc()).limit(3)).all()
    for structure in [None, *structures]:
        for start in (end.replace(day=1), end - timedelta(days=100)):
            args = {"du": start.isoformat(), "au": end.isoformat()} | ({"structure": str(structure)} if structure else {})
            indicators.compute_dashboard(Scope(session, network.admin,
                                               authorise(session, network.admin, parse_filter(args))),
                                         compare="structures")
    assert max(compared) >= 2, compared  # several rounds of secondary suppression were compared


def _naive_single_equation_bounds(model, eq, threshold):
    """The reference: each hidden cell's interval with the sum of the other hidden terms added up
    again for that cell (the quadratic form :func:`disclosure._single_equation_bounds` replaced)."""
    bounds = disclosure.attacker_bounds
    constant = sum(c * model.values[r] for c, r in eq.terms if not model.masks.get(r))
    hidden = [(c, r) for c, r in eq.terms if model.masks.get(r)]
    found = {}
    for c, r in hidden:
        low, high = bounds(model, r, threshold)
        others_low = sum(oc * bounds(model, o, threshold)[0 if oc > 0 else 1] for oc, o in hidden if o != r)
        others_high = sum(oc * bounds(model, o, threshold)[1 if oc > 0 else 0] for oc, o in hidden if o != r)
        if eq.kind == "eq":
            a, b = (-constant - others_high) / c, (-constant - others_low) / c
            low, high = max(low, min(a, b)), min(high, max(a, b))
        elif c > 0:
            high = min(high, (-constant - others_low) / c)
        else:
            low = max(low, (-constant - others_low) / c)
        found[r] = (low, high)
    return found


@pytest.mark.parametrize("seed", range(40))
def test_one_equation_intervals_equal_the_cell_by_cell_sums(seed):
    """The intervals of one equation's hidden cells, computed from its whole sum less each cell's
    own terms, equal those summed again cell by cell: signs, « < 5 » and « s » cells (unbounded
    above), a cell twice in the equation, equalities and inequalities."""
    rng = random.Random(seed)
    threshold = 5
    model = disclosure.Model()
    refs = [("t", "x", i, 0) for i in range(rng.randint(1, 30))]
    for ref in refs:
        value = rng.choice([0, 1, 2, 3, 4, 5, 8, 13, 40])
        mask = rng.choice([None, None, P if 0 < value < threshold else None, S])
        model.add(ref, value, mask)
    terms = [(rng.choice([1, -1]), ref) for ref in refs]
    if rng.random() < 0.3:
        terms.append((rng.choice([1, -1]), rng.choice(refs)))  # a cell twice
    eq = disclosure.Equation(terms, rng.choice(["eq", "le"]))
    expected = _naive_single_equation_bounds(model, eq, threshold)
    assert disclosure._single_equation_bounds(model, eq, refs, threshold) == expected
    hidden = [r for _, r in terms if model.masks.get(r)]
    for ref in hidden:
        assert disclosure._few_equations_bound(model, [eq], ref, threshold) == expected[ref]
