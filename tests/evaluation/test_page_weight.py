"""The dashboard stays light at a national scale: the administrator picks a territory before its
communes, structures and mediators are listed (no JavaScript needed), and a long table shows its
first rows with the number left out and the downloads that hold every row."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

from openpyxl import load_workbook

from mediation.evaluation import page as web_page
from mediation.evaluation import results
from tests.evaluation.conftest import YEAR

PERIOD = f"du={YEAR}-01-01&au={YEAR}-12-31"


def get(client, url, status=200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def options(html: str, name: str) -> dict[str, str] | None:
    """The options of the select ``name`` (value → text), None when the form has no such select."""
    found = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', html, re.S)
    if found is None:
        return None
    return {value: text for value, text in re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(0))
            if value}


def selected(html: str, name: str) -> list[str]:
    found = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', html, re.S)
    return re.findall(r'<option value="([^"]*)" selected>', found.group(0)) if found else []


def test_admin_national_page_asks_for_a_territory_before_listing_communes(client, login, network):
    login(client, network.admin)
    html = get(client, f"/evaluation/?{PERIOD}")
    assert options(html, "territoire") == {str(network.territory.id): "Métropole Test",
                                           str(network.other_territory.id): "Département Ailleurs"}
    # No national pick-lists: the form asks for a territory first.
    assert options(html, "commune") is None and options(html, "structure") is None
    assert options(html, "mediateur") is None
    assert "choisissez d'abord un territoire puis « Afficher »" in html


def test_admin_with_a_territory_picks_among_its_communes_structures_and_mediators(client, login, network):
    login(client, network.admin)
    html = get(client, f"/evaluation/?{PERIOD}&territoire={network.territory.id}")
    assert selected(html, "territoire") == [str(network.territory.id)]
    assert set(options(html, "commune").values()) == {"Ville-A", "Ville-B"}
    assert set(options(html, "structure").values()) == {"France Services A", "Médiathèque B"}
    mediators = options(html, "mediateur")
    assert network.mediator.full_name in mediators.values()
    assert "choisissez d'abord un territoire" not in html


def test_an_address_naming_a_commune_still_filters_and_shows_it_chosen(client, login, network, build):
    build.activity(date(YEAR, 3, 3), [build.person()])
    build.done()
    login(client, network.admin)
    # No territory in the address: the commune named is the one option offered, and chosen.
    html = get(client, f"/evaluation/?{PERIOD}&commune={network.commune_far.id}&structure={network.structure_a.id}")
    assert options(html, "commune") == {str(network.commune_far.id): "Ville-Lointaine"}
    assert selected(html, "commune") == [str(network.commune_far.id)]
    assert selected(html, "structure") == [str(network.structure_a.id)]
    assert "<dt>Commune</dt><dd>Ville-Lointaine</dd>" in html
    # With a territory, a commune of another territory named in the address stays shown as chosen.
    html = get(client, f"/evaluation/?{PERIOD}&territoire={network.territory.id}&commune={network.commune_far.id}")
    assert selected(html, "commune") == [str(network.commune_far.id)]
    assert "Ville-A" in options(html, "commune").values()
    # The parameters are still checked: an unknown commune is a 404, a malformed one a 400.
    assert client.get(f"/evaluation/?commune={2**30}").status_code == 404
    assert client.get("/evaluation/?commune=abc").status_code == 400


def test_coordinator_form_lists_their_territory_as_before(client, login, network):
    login(client, network.coordinator)
    html = get(client, f"/evaluation/?{PERIOD}")
    assert options(html, "territoire") is None
    assert set(options(html, "commune").values()) == {"Ville-A", "Ville-B"}
    assert "choisissez d'abord un territoire" not in html


def _structure_rows(html: str) -> list[str]:
    table = re.search(r'<div class="result" id="t-moyens-par-structure">.*?</tbody>', html, re.S).group(0)
    return re.findall(r'<tr><th scope="row">([^<]*)</th>', table)


def test_a_long_table_shows_its_largest_rows_and_says_where_the_others_are(
        client, login, network, build, make_structure):
    structures = [make_structure(network.commune_a, name=f"Lieu {i:02d}") for i in range(45)]
    for i, structure in enumerate(structures):
        for day in range(1 + (6 if i in (7, 30) else 0)):
            build.activity(date(YEAR, 4, 1 + day), [build.person(structure)], structure=structure)
    build.done()
    login(client, network.admin)
    html = get(client, f"/evaluation/?{PERIOD}")
    shown = _structure_rows(html)
    assert len(shown) == 25
    assert shown[:2] == ["Lieu 07", "Lieu 30"]  # the largest first
    assert "<caption>Accompagnements par structure (25 lignes affichées sur 45)</caption>" in html
    assert "Tableau limité à 25 lignes sur 45" in html and "20 lignes ne sont pas affichées ici" in html
    assert f'href="/evaluation/export.xlsx?{PERIOD.replace("&", "&amp;")}">Tableaux (XLSX)</a>' in html
    assert f'href="/evaluation/export.csv?{PERIOD.replace("&", "&amp;")}">Tableaux (CSV)</a>' in html
    assert "Autres" not in shown
    # The chart draws the rows of the table, not the 45.
    chart = re.search(r'<div class="result" id="t-moyens-par-structure">.*?</svg>', html, re.S).group(0)
    assert chart.count("<text") == 2 * 25 and "des 25 lignes affichées" in chart

    # The downloads hold every row.
    text = client.get(f"/evaluation/export.csv?{PERIOD}").get_data(as_text=True)
    labels = {row[0] for row in csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";") if row}
    assert {f"Lieu {i:02d}" for i in range(45)} <= labels
    book = load_workbook(io.BytesIO(client.get(f"/evaluation/export.xlsx?{PERIOD}").data), read_only=True)
    cells = {row[0] for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) if row}
    assert {f"Lieu {i:02d}" for i in range(45)} <= cells


def test_trimming_only_leaves_rows_out():
    items = [(str(i), f"Ligne {i}", count) for i, count in enumerate([1, 2, 30, 8, 0, 12] * 10)]
    table = results.breakdown_table("moyens.par_structure", "x", "T", "Structure", items, 5)
    trimmed = web_page.trim_table(table)
    assert len(trimmed.rows) == 25 and trimmed.omitted == len(table.rows) - 25
    assert all(row in table.rows for row in trimmed.rows)  # the same rows, none added
    assert trimmed.total == table.total and len(table.rows) == 50  # the dashboard itself is untouched
    values = [r.cells[0].value for r in trimmed.rows]
    assert values == sorted(values, reverse=True)  # published values, largest first; hidden ones last
    short = results.breakdown_table("moyens.par_canal", "x", "T", "Canal", items[:30], 5)
    assert web_page.trim_table(short) is short


def test_the_observatoire_table_keeps_high_need_communes_first_and_the_map_every_commune():
    from mediation.evaluation.observatoire import CommuneView, Observatoire

    def commune(i, level, flagged):
        return CommuneView(f"{i:05d}", f"Commune {i}", 1000 + i, 45.0 + i / 100, 5.0, {}, level, 0, 0, 12.0,
                           results.Cell(None, "< 5", "primary"), results.Cell(1.0, "1"), flagged)

    communes = [commune(i, "élevé" if i % 10 == 0 else "faible", i in (3, 50)) for i in range(60)]
    obs = Observatoire(communes, [], "fragility_index", ["fragility_index"])
    trimmed = web_page.trim_observatoire(obs)
    assert [c.name for c in trimmed.rows[:2]] == ["Commune 50", "Commune 3"]  # high need without a place
    assert all(c.level == "élevé" for c in trimmed.rows[2:7])  # then high need
    assert len(trimmed.rows) == 25 and "35 communes ne sont pas affichées ici" in trimmed.table_note
    assert trimmed.communes == communes and "Carte des 60 communes" in trimmed.svg()  # the map draws them all
