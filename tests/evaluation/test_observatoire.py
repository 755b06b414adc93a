"""The observatoire: need indicators against coverage per commune, a server-side SVG map with its
data table, the same on the dashboard page and in the impact PDF (WeasyPrint, read back with
pdfplumber); the per-1,000 figures are those of the coverage table after the disclosure control."""

from __future__ import annotations

import io
import random
import re

import pdfplumber
import pytest

from mediation.directory import needs
from mediation.evaluation import indicators, observatoire, report
from mediation.evaluation.results import Cell
from tests.evaluation.conftest import END, START
from tests.evaluation.test_report import busy_year as _busy_year

QUERY = f"du={START}&au={END}"


@pytest.fixture
def activity(busy_year_data):
    """The year of activity of tests/evaluation/test_report.py."""


busy_year_data = pytest.fixture(_busy_year.__wrapped__ if hasattr(_busy_year, "__wrapped__") else _busy_year,
                                name="busy_year_data")


def test_haversine_and_need_levels():
    assert observatoire.haversine_km(48.8566, 2.3522, 49.4431, 1.0993) == pytest.approx(111.6, abs=1.5)
    assert observatoire.haversine_km(49.4, 1.09, 49.4, 1.09) == 0
    levels = observatoire.need_levels({"a": 80, "b": 100, "c": 120, "d": 120, "e": 90, "f": 140})
    assert levels == {"a": "faible", "e": "faible", "b": "moyen", "c": "moyen", "d": "moyen", "f": "élevé"}  # ties: the lower third
    assert observatoire.need_levels({}) == {}


def test_nearest_place_is_the_minimum_over_every_place():
    """The pruned search gives exactly the minimum over every place, wherever the point is (inside
    the places' spread, beyond it, on a place, at equal latitudes)."""
    rng = random.Random(18)
    places = [(rng.uniform(42.0, 51.0), rng.uniform(-4.5, 8.0)) for _ in range(600)]
    places += [(47.0, 1.0), (47.0, 2.0), (47.0, 3.0)]
    nearest = observatoire.NearestPlace(places)
    points = [(rng.uniform(40.0, 53.0), rng.uniform(-6.0, 10.0)) for _ in range(300)]
    points += [places[0], (47.0, 2.5), (60.0, 2.0), (30.0, 2.0)]
    for lat, lon in points:
        assert nearest.km(lat, lon) == min(observatoire.haversine_km(lat, lon, *p) for p in places)
    assert observatoire.NearestPlace([]).km(47.0, 2.0) is None


@pytest.fixture
def remote(make_commune, network, session):
    """A commune of the territory about 21 km from every place (the places are at 49.4, 1.09)."""
    return make_commune(network.territory, name="Bourg-Isolé", latitude=49.4, longitude=0.80, population=2500)


@pytest.fixture
def with_needs(session, network, remote):
    rows = [(network.commune_a, 95), (network.commune_b, 110), (remote, 140)]
    content = "code_insee;indice_fragilite_numerique;taux_pauvrete;source\n" + "".join(
        f"{c.insee_code};{v};12,5;Mednum 2024\n" for c, v in rows)
    assert needs.import_needs(session, network.admin, content.encode()).applied


def dashboard_for(session, network, scope_for):
    return indicators.compute_dashboard(scope_for(network.admin, territory_id=network.territory.id))


def test_nearest_place_overseas_and_tiny_networks():
    """The pruned search gives the very same float as measuring every place (metropolitan France and
    overseas, points on the same latitude, the commune among the places, one place, none)."""
    import random

    rng = random.Random(18)
    places = [(rng.uniform(41.3, 51.1), rng.uniform(-5.2, 9.6)) for _ in range(400)]
    places += [(-21.1, 55.5), (14.6, -61.0), (46.0, 2.0), (46.0, 2.5), (46.0, 1.5)]
    communes = [(rng.uniform(41.0, 51.5), rng.uniform(-5.5, 10.0)) for _ in range(300)]
    communes += [(46.0, 2.0), (46.0, 2.25), (-21.0, 55.4), (60.0, 30.0), (-50.0, 0.0)]
    for subset in (places, places[:1], places[-3:]):
        nearest = observatoire.NearestPlace(subset)
        for lat, lon in communes:
            assert nearest.km(lat, lon) == min(
                observatoire.haversine_km(lat, lon, p_lat, p_lon) for p_lat, p_lon in subset)


def test_remote_commune_of_high_need_is_flagged(session, network, remote, with_needs, activity, scope_for):
    dashboard = dashboard_for(session, network, scope_for)
    obs = dashboard.observatoire
    by_name = {c.name: c for c in obs.communes}
    assert obs.indicator == "fragility_index" and obs.sources == ["Mednum 2024"] and not obs.illustrative
    assert by_name["Bourg-Isolé"].level == "élevé" and by_name["Bourg-Isolé"].flagged
    assert by_name["Bourg-Isolé"].nearest_km == pytest.approx(21, abs=1) and by_name["Bourg-Isolé"].places == 0
    assert not by_name["Ville-A"].flagged and by_name["Ville-A"].nearest_km < 1
    # the per-1,000 figures are the published cells of the coverage table (masks included)
    coverage = {r.key: r for r in dashboard.table("maillage.communes").rows}
    for commune in obs.communes:
        assert commune.per_1000.display == coverage[commune.insee].cells[4].display
        assert commune.residents_per_1000.display == coverage[commune.insee].cells[5].display
    svg = obs.svg()
    assert 'role="img"' in svg and "<title" in svg and "<desc" in svg and svg.count('class="flagged"') == 1
    assert "Bourg-Isolé" in svg


def test_distances_are_those_to_every_place_of_the_network(session, network, remote, with_needs, activity,
                                                          scope_for, make_commune, make_structure):
    """Only the places near the territory are read, yet every distance is the one to the nearest place
    of the whole network: a commune whose nearest place lies beyond the area read (here 58 km away,
    across the territory's edge, when the territory's own places are 79 km away) is measured against
    all of them; a place at the other end of the country changes nothing and is not drawn."""
    import sqlalchemy as sa

    from mediation.directory.models import Commune, Structure

    remote.latitude, remote.longitude = 49.4, 0.0
    elsewhere = make_commune(name="Autre-Bord", latitude=49.4, longitude=-0.8)
    make_structure(elsewhere, name="Lieu de l'autre bord")
    make_structure(make_commune(name="Loin-Sud", latitude=43.3, longitude=5.4), name="Lieu du sud")
    session.flush()
    obs = dashboard_for(session, network, scope_for).observatoire
    everywhere = [(s_lat if s_lat is not None else c_lat, s_lon if s_lat is not None else c_lon)
                  for s_lat, s_lon, c_lat, c_lon in session.execute(
                      sa.select(Structure.latitude, Structure.longitude, Commune.latitude, Commune.longitude)
                      .join(Commune, Commune.id == Structure.commune_id).where(Structure.archived_at.is_(None)))]
    for commune in obs.communes:
        assert commune.nearest_km == min(observatoire.haversine_km(commune.latitude, commune.longitude, lat, lon)
                                         for lat, lon in everywhere if lat is not None)
    by_name = {c.name: c for c in obs.communes}
    assert by_name["Bourg-Isolé"].nearest_km == pytest.approx(58, abs=1)
    assert "Lieu du sud" not in {p.name for p in obs.places}


def test_map_and_table_on_the_dashboard(client, login, session, network, remote, with_needs, activity):
    login(client, network.coordinator)
    page = client.get(f"/evaluation/?{QUERY}").get_data(as_text=True)
    block = page[page.index('id="observatoire"'):]
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart observatoire-map" role="img"' in block
    assert "<caption>Observatoire : besoin et couverture par commune</caption>" in block
    assert re.search(r'<tr class="flagged"><th scope="row">Bourg-Isolé</th>', block)
    assert "Communes de besoin élevé sans lieu à moins de 10 km : Bourg-Isolé." in block
    assert "Valeurs illustratives" not in block


def test_illustrative_values_are_marked(client, login, session, network, remote, activity):
    content = f"code_insee,part_75_ans_et_plus\n{remote.insee_code},15\n{network.commune_a.insee_code},9\n"
    assert needs.import_needs(session, network.admin, content.encode(), illustrative=True).applied
    login(client, network.admin)
    page = client.get(f"/evaluation/?{QUERY}&territoire={network.territory.id}").get_data(as_text=True)
    assert "Valeurs illustratives :" in page and "la part des 75 ans et plus" in page


def test_no_coordinates_no_map_but_the_table(client, login, session, network, activity):
    for commune in (network.commune_a, network.commune_b):
        commune.latitude = commune.longitude = None
    session.flush()
    login(client, network.coordinator)
    page = client.get(f"/evaluation/?{QUERY}").get_data(as_text=True)
    assert "Carte indisponible" in page and "<caption>Observatoire : besoin et couverture par commune" in page


def test_map_and_table_in_the_pdf(app, session, network, remote, with_needs, activity, scope_for):
    scope = scope_for(network.admin, territory_id=network.territory.id)
    dashboard = indicators.compute_dashboard(scope)
    with app.test_request_context():
        html = report.render_html(dashboard, scope)
        assert html.count('class="chart observatoire-map"') == 1
        pdf = report.render_pdf(html)
    with pdfplumber.open(io.BytesIO(pdf)) as document:
        pages = [(page, page.extract_text() or "") for page in document.pages]
        found = [(page, text) for page, text in pages if "Observatoire : besoin et couverture par commune" in text]
        assert found, "the observatoire is in the PDF"
        text = " ".join(t for _, t in pages).replace("\u202f", " ").replace("\xa0", " ")
        assert "Communes de besoin élevé sans lieu à moins de 10 km : Bourg-Isolé." in re.sub(r"\s+", " ", text)
        for page, _ in found:  # the table fits the page
            for word in page.extract_words():
                assert word["x1"] <= page.width + 0.5, word["text"]
            assert any(image_or_curve for image_or_curve in page.curves + page.rects)  # the map is drawn


def _view(name, *, places=0, per_1000=Cell(0.0, "0,0"), residents=Cell(5.4, "5,4"), level=None, nearest=7.4,
          flagged=False, fragility=None):
    return observatoire.CommuneView(
        insee=name, name=name, population=1000, latitude=49.4, longitude=1.0 + len(name) / 100,
        needs={"fragility_index": fragility}, level=level, places=places, services=2 * places, nearest_km=nearest,
        per_1000=per_1000, residents_per_1000=residents, flagged=flagged)


def test_the_printed_table_keeps_the_communes_with_a_place_an_accompaniment_or_a_high_need():
    """In the PDF, communes with no place, no accompaniment and no high need leave the observatoire's
    table for a sentence giving each one's values in the order it states; the map keeps them all;
    the dashboard's table (no compaction) keeps every row."""
    communes = [
        _view("Avec-Lieu", places=1, per_1000=Cell(12.5, "12,5"), level="moyen", fragility=101.0),
        _view("Sans-Rien", level="faible", fragility=95.0, nearest=7.4, residents=Cell(5.4, "5,4")),
        _view("Masquée", per_1000=Cell(None, "< 5", mask="primary"), level="faible", fragility=96.0),
        _view("Besoin-Fort", level="élevé", fragility=150.0, nearest=3.0),
        _view("Signalée", level="élevé", fragility=160.0, nearest=21.0, flagged=True),
        _view("Sans-Valeur", nearest=None, residents=Cell(None, "< 5", mask="primary")),
    ]
    obs = observatoire.Observatoire(communes, [], "fragility_index", ["fragility_index"])
    printed = report._compact_observatoire(obs)
    assert [c.name for c in printed.rows] == ["Avec-Lieu", "Masquée", "Besoin-Fort", "Signalée"]
    assert printed.table_note == (
        "Communes sans lieu ni accompagnement pendant la période, besoin faible, moyen ou non renseigné (2) ; "
        "entre parenthèses : besoin, indice de fragilité numérique, lieu le plus proche, résidents accompagnés "
        "pour 1 000 hab. : Sans-Rien (faible ; 95,0 ; 7,4 km ; 5,4) ; Sans-Valeur (non renseigné ; — ; — ; < 5).")
    assert [c.name for c in obs.rows] == [c.name for c in communes] and obs.table_note is None
    assert printed.svg().count("<circle cx=") == obs.svg().count("<circle cx=")  # every commune on the map
    without_needs = observatoire.Observatoire([_view("Sans-Rien"), _view("Avec-Lieu", places=1)], [], None, [])
    assert report._compact_observatoire(without_needs).table_note == (
        "Communes sans lieu ni accompagnement pendant la période, besoin non renseigné (1) ; entre parenthèses : "
        "lieu le plus proche, résidents accompagnés pour 1 000 hab. : Sans-Rien (7,4 km ; 5,4).")
    everyone = observatoire.Observatoire([_view("Avec-Lieu", places=1)], [], None, [])
    assert report._compact_observatoire(everyone) is everyone


def test_the_print_names_each_quiet_commune_once_with_the_values_of_both_tables():
    """The coverage table and the observatoire leave the same quiet communes out of the print: they
    are named once, under the coverage table, with their population, their residents accompanied and
    their observatoire values (need, need indicator, nearest place); the observatoire's sentence
    sends there and lists only the communes the coverage paragraph does not name."""
    from mediation.evaluation.results import Row, Table

    def coverage_row(name, population, structures, accompaniments, residents):
        cells = [Cell(population, f"{population:,}".replace(",", "\u202f")), Cell(structures, str(structures)),
                 Cell(accompaniments, str(accompaniments)), Cell(residents, str(residents)),
                 Cell(None, "—"), Cell(None, "—")]
        return Row(name, cells, key=name)

    coverage = Table("maillage.communes", "maillage.communes", "Activité par commune", "Commune",
                     ["Population", "Structures", "Accompagnements", "Bénéficiaires résidents",
                      "Accompagnements pour 1 000 hab.", "Résidents accompagnés pour 1 000 hab."],
                     [coverage_row("Avec-Lieu", 4000, 1, 50, 12), coverage_row("Sans-Rien", 1200, 0, 0, 7),
                      coverage_row("Besoin-Fort", 800, 0, 0, 0), coverage_row("Autre", 300, 0, 0, 0)])
    communes = [
        _view("Avec-Lieu", places=1, per_1000=Cell(12.5, "12,5"), level="moyen", fragility=101.0),
        _view("Sans-Rien", level="faible", fragility=95.0, nearest=7.4),
        _view("Besoin-Fort", level="élevé", fragility=150.0, nearest=3.0),
        _view("Autre", level="moyen", fragility=120.0, nearest=2.5),
        _view("Hors-Tableau", level="faible", fragility=90.0, nearest=11.0),
    ]
    obs = observatoire.Observatoire(communes, [], "fragility_index", ["fragility_index"])
    printed_coverage = report._compact_communes(coverage, obs)
    printed_obs = report._compact_observatoire(obs, coverage)
    assert [r.label for r in printed_coverage.rows] == ["Avec-Lieu"]
    assert printed_coverage.note == (
        "Communes sans structure ni accompagnement pendant la période (3) ; entre parenthèses : population "
        "(habitants), bénéficiaires résidents, puis, pour les communes absentes du tableau de l'observatoire, "
        "besoin, indice de fragilité numérique, lieu le plus proche : Sans-Rien (1\u202f200 ; 7 ; faible ; 95,0 ; "
        "7,4 km) ; Besoin-Fort (800 ; 0) ; Autre (300 ; 0 ; moyen ; 120,0 ; 2,5 km).")
    assert [c.name for c in printed_obs.rows] == ["Avec-Lieu", "Besoin-Fort"]  # high need: in its table
    assert printed_obs.table_note == (
        "Communes sans lieu ni accompagnement pendant la période, besoin faible, moyen ou non renseigné (2) : "
        "nommées sous le tableau « Activité par commune », avec leur besoin, indice de fragilité numérique et "
        "lieu le plus proche. Autres communes sans lieu ni accompagnement pendant la période, besoin faible, "
        "moyen ou non renseigné (1) ; entre parenthèses : besoin, indice de fragilité numérique, lieu le plus "
        "proche, résidents accompagnés pour 1 000 hab. : Hors-Tableau (faible ; 90,0 ; 11,0 km ; 5,4).")
    sentences = printed_coverage.note + " " + printed_obs.table_note
    for name in ("Sans-Rien", "Besoin-Fort", "Autre", "Hors-Tableau"):  # each named once, with its values
        assert sentences.count(f"{name} (") == 1, name


def test_the_printed_observatoire_leaves_out_the_columns_the_coverage_table_prints():
    """In the PDF, the observatoire's columns whose values the coverage table prints for the same
    communes (places, the two rates per 1,000 inhabitants) are left out of its table, and its note
    says where they are; a column with one commune not printed there, or one value that differs,
    stays. The dashboard's table keeps every column."""
    from mediation.evaluation.results import Row, Table

    def coverage(rates):
        rows = [Row(name, [Cell(1000, "1\u202f000"), Cell(places, str(places)), Cell(9, "9"), Cell(3, "3"),
                           Cell(None, accompanied), Cell(None, residents)], key=name)
                for name, places, (accompanied, residents) in rates]
        return Table("maillage.communes", "maillage.communes", "Activité par commune", "Commune",
                     ["Population", "Structures", "Accompagnements", "Bénéficiaires résidents",
                      "Accompagnements pour 1 000 hab.", "Résidents accompagnés pour 1 000 hab."], rows)

    communes = [_view("Alpha", places=1, per_1000=Cell(9.0, "9,0"), residents=Cell(3.0, "3,0")),
                _view("Bêta", places=2, per_1000=Cell(None, "< 5", mask="primary"), residents=Cell(5.5, "5,5"))]
    obs = observatoire.Observatoire(communes, [], None, [])
    same = coverage([("Alpha", 1, ("9,0", "3,0")), ("Bêta", 2, ("< 5", "5,5"))])
    printed = report._compact_observatoire(obs, same)
    assert printed.table_header() == ["Besoin", "Services différents", "Lieu le plus proche (km)",
                                      "Besoin élevé sans lieu à moins de 10 km"]
    assert [text for text, _ in printed.table_cells(communes[1])] == ["non renseigné", "4", "7,4", "non"]
    assert printed.table_note == (
        "Colonnes données, pour les mêmes communes, par le tableau « Activité par commune » et non répétées ici : "
        "« Lieux » (« Structures » dans ce tableau-là), « Accompagnements pour 1 000 hab. » et « Résidents "
        "accompagnés pour 1 000 hab. ».")
    assert obs.table_header() == obs.columns() and len(obs.table_cells(communes[0])) == len(obs.columns())

    differs = coverage([("Alpha", 1, ("9,0", "3,0")), ("Bêta", 2, ("< 5", "5,4"))])  # one rate differs
    assert "Résidents accompagnés pour 1 000 hab." in report._compact_observatoire(obs, differs).table_header()
    missing = coverage([("Alpha", 1, ("9,0", "3,0"))])  # Bêta is not in the coverage table
    assert report._compact_observatoire(obs, missing) is obs
