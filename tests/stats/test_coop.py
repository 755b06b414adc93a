"""« Statistiques »: the figures of La Coop de la médiation numérique, checked figure by figure
against an independent re-implementation of the Coop's SQL definitions over the raw tables
(activities, participations, beneficiaries, activity_thematiques), on a hand-built dataset with the
edge cases and on synthetic data; scoping; the page and the XLSX show the same figures."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import timedelta
from fractions import Fraction
from html.parser import HTMLParser
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from mediation.auth.models import Role, User
from mediation.cases import activities
from mediation.cases.activities import ActivityInput, AnonymousCounters, AnonymousInput, BeneficiaryInput
from mediation.cases.enums import (
    ActivityType,
    DemarcheThematique,
    Genre,
    Materiel,
    PlaceType,
    StatutSocial,
    Thematique,
    TrancheAge,
)
from mediation.cases.models import Activity, Beneficiary
from mediation.directory.models import Commune, Structure
from mediation.stats.coop import CoopFilters, coop_statistics
from mediation.types import local_today

# --- the reference: the Coop's definitions, written again as plain SQL over the raw tables ---------

BANDS = [(12, "moins_de_douze_ans"), (18, "douze_dix_huit"), (25, "dix_huit_vingt_quatre"),
         (40, "vingt_cinq_trente_neuf"), (60, "quarante_cinquante_neuf"), (70, "soixante_soixante_neuf")]


def reference(session, scope_sql: str, params: dict, start, end, today) -> dict:
    """Every count of the Coop's « Mes statistiques », from the raw tables (no application code)."""
    params = {**params, "start": start, "end": end}
    acts = (f"SELECT a.* FROM activities a WHERE a.deleted_at IS NULL AND a.date >= :start "
            f"AND a.date <= :end AND ({scope_sql})")
    weight = "(SELECT COUNT(*) FROM participations p WHERE p.activity_id = a.id)"
    q = lambda sql: session.execute(sa.text(sql), params).all()  # noqa: E731
    one = lambda sql: session.execute(sa.text(sql), params).scalar() or 0  # noqa: E731
    r: dict = {}
    r["activities"] = one(f"SELECT COUNT(*) FROM ({acts}) a")
    r["individual"] = one(f"SELECT COUNT(*) FROM ({acts}) a WHERE a.type = 'individuel'")
    r["workshops"] = one(f"SELECT COUNT(*) FROM ({acts}) a WHERE a.type = 'collectif'")
    r["accompaniments"] = one(f"SELECT COALESCE(SUM({weight}), 0) FROM ({acts}) a")
    r["participants"] = one(f"SELECT COALESCE(SUM({weight}), 0) FROM ({acts}) a WHERE a.type = 'collectif'")
    people = (f"SELECT DISTINCT b.* FROM beneficiaries b JOIN participations p ON p.beneficiary_id = b.id "
              f"JOIN ({acts}) a ON a.id = p.activity_id")
    r["beneficiaries"] = one(f"SELECT COUNT(*) FROM ({people}) b")
    r["followed"] = one(f"SELECT COUNT(*) FROM ({people}) b WHERE NOT b.anonymous")
    r["new"] = one(f"SELECT COUNT(*) FROM participations p JOIN ({acts}) a ON a.id = p.activity_id "
                   f"WHERE p.first_accompaniment")
    thematiques = dict(q(f"SELECT t.code, SUM({weight}) FROM activity_thematiques t "
                         f"JOIN ({acts}) a ON a.id = t.activity_id GROUP BY t.code"))
    r["thematiques"] = {t.label: thematiques.get(t.value, 0) for t in Thematique}
    r["demarches"] = {t.label: thematiques.get(t.value, 0) for t in DemarcheThematique}
    channels = dict(q(f"SELECT a.place_type, SUM({weight}) FROM ({acts}) a GROUP BY a.place_type"))
    r["channels"] = {p.label: channels.get(p.value, 0) for p in PlaceType}
    buckets = q(f"SELECT SUM(CASE WHEN a.duration_min < 30 THEN {weight} ELSE 0 END), "
                f"SUM(CASE WHEN a.duration_min >= 30 AND a.duration_min < 60 THEN {weight} ELSE 0 END), "
                f"SUM(CASE WHEN a.duration_min >= 60 AND a.duration_min < 120 THEN {weight} ELSE 0 END), "
                f"SUM(CASE WHEN a.duration_min >= 120 THEN {weight} ELSE 0 END) FROM ({acts}) a")[0]
    r["durations"] = dict(zip(["Moins de 30 min", "30min à 1 h", "1 h à 2 h", "2 h et plus"],
                              [b or 0 for b in buckets], strict=True))
    materiel = Counter()
    for raw, w in q(f"SELECT a.materiel, {weight} FROM ({acts}) a"):
        values = json.loads(raw) if isinstance(raw, str) else (raw or [])
        for code in set(values):
            materiel[code] += w
    r["materiel"] = {m.label: materiel[m.value] for m in Materiel}
    r["places"] = dict(q(f"SELECT s.name, SUM({weight}) FROM ({acts}) a JOIN structures s "
                         f"ON s.id = a.place_structure_id WHERE a.place_type = 'lieu_activite' GROUP BY s.name"))
    r["communes"] = {f"{name} · {cp}": n for name, cp, n in q(
        f"SELECT c.name, c.postal_code, SUM({weight}) FROM ({acts}) a "
        f"LEFT JOIN structures ps ON ps.id = a.place_structure_id "
        f"JOIN structures own ON own.id = a.structure_id "
        f"JOIN communes c ON c.id = CASE WHEN a.place_type = 'lieu_activite' THEN ps.commune_id "
        f"ELSE COALESCE(a.place_commune_id, own.commune_id) END GROUP BY c.name, c.postal_code")}
    genres = Counter(g or "non_communique" for (g,) in q(f"SELECT b.genre FROM ({people}) b"))
    r["genres"] = {g.label: genres[g.value] for g in Genre}
    statuts = Counter(s or "non_communique_ou_heterogene" for (s,) in q(f"SELECT b.statut_social FROM ({people}) b"))
    r["statuts"] = {s.label: statuts[s.value] for s in StatutSocial}
    ages = Counter()
    for birth_year, stored in q(f"SELECT b.birth_year, b.tranche_age FROM ({people}) b"):
        band = None
        if birth_year is not None and birth_year <= today.year:
            age = today.year - birth_year
            band = next((code for bound, code in BANDS if age < bound), "soixante_dix_plus")
        ages[band or stored or "non_communique"] += 1
    r["ages"] = {t.label: ages[t.value] for t in TrancheAge}
    r["residences"] = {(f"{name} · {cp}" if name else "Non communiqué"): n for name, cp, n in q(
        f"SELECT c.name, c.postal_code, COUNT(*) FROM ({people}) b "
        f"LEFT JOIN communes c ON c.id = b.residence_commune_id GROUP BY c.name, c.postal_code")}
    return r


def check_shares(shares) -> None:
    """The Coop's shares: each the exact percentage of the block's sum, to 3 decimals."""
    total = sum(s.count for s in shares)
    for s in shares:
        exact = Fraction(100 * s.count, total) if total else Fraction(0)
        assert abs(Fraction(str(s.proportion)) - exact) <= Fraction(1, 2000), (s, float(exact))


def shown(text: str) -> float:
    """« 33,3 % » → 33.3"""
    assert text.endswith("\u202f%"), text
    return float(text[:-2].replace(",", "."))


def assert_matches(stats, ref) -> None:
    assert stats.activities == ref["activities"]
    assert stats.individual_activities == ref["individual"]
    assert stats.workshops == ref["workshops"]
    assert stats.accompaniments == ref["accompaniments"]
    assert stats.workshop_participants == ref["participants"]
    assert stats.beneficiaries == ref["beneficiaries"]
    assert stats.followed_beneficiaries == ref["followed"]
    assert stats.anonymous_beneficiaries == ref["beneficiaries"] - ref["followed"]
    assert stats.new_beneficiaries == ref["new"]
    assert sum(s.count for s in stats.by_month) == ref["accompaniments"]
    for key, attribute in (("thematiques", "thematiques"), ("demarches", "demarches"), ("channels", "channels"),
                           ("durations", "durations"), ("materiel", "materiel"), ("genres", "genres"),
                           ("statuts", "statuts"), ("ages", "age_bands")):
        assert {s.label: s.count for s in getattr(stats, attribute)} == ref[key], key
    assert {s.label: s.count for s in stats.places} == ref["places"]
    assert {s.label: s.count for s in stats.communes} == ref["communes"]
    assert {s.label: s.count for s in stats.residences} == ref["residences"]
    for _key, _title, shares in stats.sections():
        check_shares(shares)
    check_shares(stats.activity_shares)
    check_shares(stats.accompaniment_shares)


# --- the hand-built dataset --------------------------------------------------------------------

@pytest.fixture
def dataset(session, network, make_commune):
    n = network
    today = local_today()
    day = today - timedelta(days=40)
    n.commune_a.postal_code, n.commune_b.postal_code = "76000", "76100"
    visible = lambda i: session.get(Beneficiary, i)  # noqa: E731

    def log(user=n.mediator, structure=n.structure_a, **values):
        data = ActivityInput(**{"type": ActivityType.INDIVIDUEL, "structure_id": structure.id, "date": day,
                                "duration_min": 45, "place_type": PlaceType.LIEU_ACTIVITE.value,
                                "place_structure_id": structure.id, "thematiques": [Thematique.EMAIL.value],
                                **values})
        return activities.log_activity(session, user, data, visible_beneficiary=visible)

    # an anonymous person (new), on the place, with a computer
    log(anonymous=AnonymousInput(genre="feminin"), materiel=["ordinateur"], duration_min=29)
    # an anonymous person « déjà accompagné », at home in another commune, two thématique families
    log(anonymous=AnonymousInput(already_accompanied=True, tranche_age="soixante_dix_plus",
                                 residence_commune_id=n.commune_b.id),
        place_type=PlaceType.DOMICILE.value, place_structure_id=None, place_commune_id=n.commune_b.id,
        thematiques=[Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES.value,
                     DemarcheThematique.PAPIERS_ELECTIONS_CITOYENNETE.value], duration_min=30,
        materiel=["telephone", "tablette"])
    # a followed person with a birth year, seen twice (new once)
    first = log(new_beneficiary=BeneficiaryInput(first_name="Rose", last_name="Nouvelle", birth_year=1950,
                                                 residence_commune_id=n.commune_a.id),
                place_type=PlaceType.A_DISTANCE.value, place_structure_id=None, duration_min=60)
    rose = first.participations[0].beneficiary_id
    log(beneficiary_id=rose, date=day + timedelta(days=3), duration_min=120,
        place_type=PlaceType.AUTRE.value, place_structure_id=None, place_commune_id=n.commune_b.id,
        thematiques=[Thematique.BUREAUTIQUE.value, Thematique.EMAIL.value])
    # a workshop of 12: Rose and 11 anonymous participants (3 « déjà accompagnés »), some breakdowns
    log(type=ActivityType.COLLECTIF, date=day + timedelta(days=5), duration_min=90, participant_ids=[rose],
        workshop_title="Premiers pas", materiel=["ordinateur", "tablette"],
        thematiques=[Thematique.AIDE_AUX_DEMARCHES_ADMINISTRATIVES.value, DemarcheThematique.LOGEMENT.value,
                     Thematique.NAVIGATION_SUR_INTERNET.value],
        counters=AnonymousCounters(total=11, already_accompanied=3, genres={"feminin": 4, "masculin": 2},
                                   ages={"vingt_cinq_trente_neuf": 5}, statuts={"retraite": 3}))
    # a workshop of 2
    log(type=ActivityType.COLLECTIF, duration_min=15, participant_ids=[rose],
        counters=AnonymousCounters(total=1))
    # deleted: counts nowhere
    gone = log(anonymous=AnonymousInput(), duration_min=200)
    activities.delete_activity(session, n.mediator, gone)
    # outside the period
    log(anonymous=AnonymousInput(), date=today - timedelta(days=500))
    # another mediator of the territory, and one of another territory
    log(user=n.mediator_b, structure=n.structure_b, anonymous=AnonymousInput(), duration_min=75)
    log(user=n.mediator_far, structure=n.structure_far, anonymous=AnonymousInput(), duration_min=75)
    session.flush()
    return n


def filters():
    return CoopFilters.default()


def test_mediator_figures_equal_the_coop_definitions(session, dataset):
    n = dataset
    f = filters()
    stats = coop_statistics(session, n.mediator, f)
    ref = reference(session, "a.mediator_id = :me", {"me": n.mediator.id}, f.start, f.end, local_today())
    assert_matches(stats, ref)
    # the edge cases, by hand: 6 live activities in the period, 1 + 1 + 1 + 1 + 12 + 2 accompagnements
    assert (stats.activities, stats.workshops, stats.accompaniments, stats.workshop_participants) == (6, 2, 18, 14)
    # people: 2 anonymous individuals + Rose + 11 + 1 anonymous participants
    assert (stats.beneficiaries, stats.followed_beneficiaries, stats.anonymous_beneficiaries) == (15, 1, 14)
    # new: the first anonymous person, Rose once, 8 of the 11 workshop participants, the 1 of the small workshop
    assert stats.new_beneficiaries == 1 + 1 + 8 + 1
    # thématiques: shares within their family
    demarches = {s.label: (s.count, s.proportion) for s in stats.demarches}
    assert demarches["Papiers - Élections - Citoyenneté"] == (1, 7.692) and demarches["Logement"] == (12, 92.308)
    email = next(s for s in stats.thematiques if s.label == "E-mail")
    assert email.count == 1 + 1 + 1 + 2  # three individual sessions (not the démarche) and the small workshop
    # the home visit counts in its own commune, not the structure's
    assert {s.label: s.count for s in stats.communes}["Ville-B · 76100"] == 2
    # Rose born in 1950: from her birth year; the anonymous person: the declared band
    ages = {s.label: s.count for s in stats.age_bands}
    expected_rose = "70 ans et plus" if local_today().year - 1950 >= 70 else "60 - 69 ans"
    assert ages[expected_rose] >= 1 and ages["70 ans et plus"] >= 1
    assert sum(s.count for s in stats.durations) == stats.accompaniments


def test_type_filter(session, dataset):
    n = dataset
    f = CoopFilters(start=filters().start, end=filters().end, types=(ActivityType.COLLECTIF,))
    stats = coop_statistics(session, n.mediator, f)
    ref = reference(session, "a.mediator_id = :me AND a.type = 'collectif'", {"me": n.mediator.id},
                    f.start, f.end, local_today())
    assert_matches(stats, ref)
    assert stats.individual_activities == 0 and stats.workshops == 2


def test_scoping(session, dataset):
    n = dataset
    f = filters()
    mine = coop_statistics(session, n.mediator, f)
    theirs = coop_statistics(session, n.mediator_b, f)
    assert theirs.activities == 1 and theirs.accompaniments == 1
    assert mine.activities == 6  # never mediator_b's nor the far mediator's
    territory = coop_statistics(session, n.coordinator, f)
    ref = reference(session, "a.structure_id IN (SELECT s.id FROM structures s JOIN communes c "
                    "ON c.id = s.commune_id WHERE c.territory_id = :t)", {"t": n.territory.id},
                    f.start, f.end, local_today())
    assert_matches(territory, ref)
    assert territory.activities == 7  # the territory's two mediators, not the far one
    one = coop_statistics(session, n.coordinator, CoopFilters(start=f.start, end=f.end, mediator_id=n.mediator_b.id))
    assert one.activities == 1
    elsewhere = coop_statistics(session, n.other_coordinator, f)
    assert elsewhere.activities == 1 and elsewhere.accompaniments == 1
    # a coordinator asking for a mediator of another territory gets nothing
    far = coop_statistics(session, n.coordinator, CoopFilters(start=f.start, end=f.end,
                                                              mediator_id=n.mediator_far.id))
    assert far.activities == 0


# --- the page and the workbook -------------------------------------------------------------------

class Tables(HTMLParser):
    """Rows (label, cells…) of every ``div.result`` and the figures' values, by id."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.figures: dict[str, str] = {}
        self._table = self._figure = None
        self._row = self._cell = None
        self._in_value = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "div" and attrs.get("class") == "result":
            self._table = attrs["id"]
            self.tables[self._table] = []
        if tag == "li" and attrs.get("class") == "figure":
            self._figure = attrs["id"]
        if tag == "span" and attrs.get("class") == "figure-value" and self._figure:
            self._in_value = True
            self.figures[self._figure] = ""
        if self._table and tag == "tr":
            self._row = []
        if self._row is not None and tag in ("th", "td"):
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        if tag == "tr" and self._row is not None:
            if self._row and self._row[0] != "Libellé":
                self.tables[self._table].append(self._row)
            self._row = None
        if tag == "table":
            self._table = None
        if tag == "span":
            self._in_value = False
        if tag == "li":
            self._figure = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        if self._in_value:
            self.figures[self._figure] += data


def page_tables(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    parser = Tables()
    parser.feed(response.get_data(as_text=True))
    return parser


def test_page_and_workbook_show_the_figures(session, client, login, dataset):
    n = dataset
    stats = coop_statistics(session, n.mediator, filters())
    login(client, n.mediator)
    page = page_tables(client, "/statistiques/")
    assert page.figures["fig-accompagnements"] == str(stats.accompaniments)
    assert page.figures["fig-nouveaux"] == str(stats.new_beneficiaries)
    assert page.figures["fig-anonymes"] == str(stats.anonymous_beneficiaries)
    assert page.tables["t-mois"] == [[s.label, str(s.count)] for s in stats.by_month]
    for key, _title, shares in stats.sections():
        rows = page.tables[f"t-{key}"]
        if not shares:
            assert rows == [["Aucune donnée pour ces filtres."]]
            continue
        assert [(label, int(count)) for label, count, _ in rows] == [(s.label, s.count) for s in shares], key
        for (_label, _count, text), s in zip(rows, shares, strict=True):
            assert abs(shown(text) - s.proportion) <= 0.05, (key, text, s)

    response = client.get("/statistiques/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data)).active
    rows = [tuple(c for c in row) for row in sheet.iter_rows(values_only=True)]
    labels = [r[0] for r in rows]
    assert labels[0] == "Informations export" and "Filtres" in labels
    assert labels.index("Statistiques générales") < labels.index("Statistiques sur vos accompagnements") < labels.index(
        "Thématiques Médiation numérique") < labels.index("Statistiques sur vos bénéficiaires") < labels.index("Genre")
    months = rows[labels.index("Accompagnements sur les 12 derniers mois")]
    counts = rows[labels.index("Accompagnements sur les 12 derniers mois") + 1]
    assert [m for m in months[1:] if m] == [s.label for s in stats.by_month]
    assert [c for c in counts[1:] if c is not None] == [s.count for s in stats.by_month]
    value = {r[0]: r[1] for r in rows if r[0]}
    assert value["Accompagnements au total"] == stats.accompaniments
    assert value["Bénéficiaires accompagnés"] == stats.beneficiaries
    assert value["Nouveaux bénéficiaires"] == stats.new_beneficiaries
    assert value["Nombre total d’activités"] == stats.activities
    assert value["Nombre total de participants aux ateliers"] == stats.workshop_participants
    for _key, _title, title, shares in stats.blocks():
        start = labels.index(title) + 1
        block = rows[start:start + len(shares)]
        assert [(r[0], r[1]) for r in block] == [(s.label, s.count) for s in shares], title
        assert [r[2] for r in block] == [s.percentage for s in shares], title
        for row, s in zip(block, shares, strict=True):
            assert abs(shown(row[2]) - s.proportion) <= 0.05
        after = rows[start + len(shares):start + len(shares) + 1]
        assert all(c is None for row in after for c in row), title  # a blank row ends each block


def test_long_breakdowns_are_shortened_on_the_page_and_whole_in_the_workbook(
        session, client, login, dataset, monkeypatch):
    """A network's thousands of communes: the page shows the largest lines and one « Autres » line
    adding up the rest; the workbook keeps every line."""
    from mediation.stats import coop as coop_module

    n = dataset
    stats = coop_statistics(session, n.mediator, filters())
    longest = max(stats.sections(), key=lambda section: len(section[2]))
    key, _title, shares = longest
    assert len(shares) >= 3, "the dataset needs a breakdown of at least 3 lines"
    monkeypatch.setattr(coop_module, "PAGE_ROWS", 1)
    login(client, n.mediator)
    rows = page_tables(client, "/statistiques/").tables[f"t-{key}"]
    assert [(label, int(count)) for label, count, _ in rows[:1]] == [(shares[0].label, shares[0].count)]
    assert len(rows) == 2 and rows[1][0].startswith(f"Autres ({len(shares) - 1}")
    assert int(rows[1][1]) == sum(s.count for s in shares[1:])
    assert abs(shown(rows[1][2]) - sum(s.proportion for s in shares[1:])) <= 0.05
    sheet = load_workbook(BytesIO(client.get("/statistiques/export.xlsx").data)).active
    labels = [row[0] for row in sheet.iter_rows(values_only=True)]
    assert all(s.label in labels for s in shares)


def test_a_network_of_thousands_of_mediators_is_searched_not_listed(app, session, client, login, dataset, searches):
    """Above MEDIATION_PICK_LIST_LIMIT mediators (a network's thousands: 6,667 options, 360 kB at
    10 million accompaniments), the filter is a part of the name, then the mediators matching it."""
    n = dataset
    # A coordinator searches their territory's mediators only.
    login(client, n.coordinator)
    assert client.get(f"/statistiques/?mediateur={n.mediator_far.id}").status_code == 404
    html = client.get(f"/statistiques/?mediateur_nom={n.mediator_far.last_name}").get_data(as_text=True)
    assert "Aucun médiateur de votre périmètre ne correspond" in html
    client = app.test_client()
    login(client, n.admin)
    page = client.get("/statistiques/").get_data(as_text=True)
    assert 'name="mediateur_nom"' in page and 'name="mediateur"' not in page
    assert n.mediator_b.last_name not in page
    # One match: chosen, the figures are that mediator's.
    page = page_tables(client, f"/statistiques/?mediateur_nom={n.mediator_b.last_name.lower()}")
    assert page.figures["fig-activites"] == "1"
    html = client.get(f"/statistiques/?mediateur_nom={n.mediator_b.last_name}").get_data(as_text=True)
    assert re.search(rf'<option value="{n.mediator_b.id}" selected>', html)
    assert f"{n.mediator_b.first_name} {n.mediator_b.last_name}" in html  # in the filters printed too
    # Several matches: every mediator's figures, and a list of the matches to choose from.
    html = client.get("/statistiques/?mediateur_nom=prénom").get_data(as_text=True)
    assert "correspondent : choisissez-en un dans la liste" in html
    listed = re.findall(r'<option value="(\d+)"', html.split('name="mediateur"')[1].split("</select>")[0])
    assert str(n.mediator.id) in listed and str(n.mediator_b.id) in listed
    # No match: a message, no figures changed.
    response = client.get("/statistiques/?mediateur_nom=zzzz")
    assert response.status_code == 400 and "Aucun médiateur de votre périmètre ne correspond à « zzzz »" in \
        response.get_data(as_text=True)
    # An id chosen from the list (or a shared address) still filters, and stays shown as chosen.
    html = client.get(f"/statistiques/?mediateur={n.mediator_b.id}").get_data(as_text=True)
    assert re.search(rf'<option value="{n.mediator_b.id}" selected>', html)


def test_coordinator_filter_and_out_of_scope_mediator(session, client, login, dataset):
    n = dataset
    login(client, n.coordinator)
    page = page_tables(client, f"/statistiques/?mediateur={n.mediator_b.id}")
    assert page.figures["fig-activites"] == "1"
    assert client.get(f"/statistiques/?mediateur={n.mediator_far.id}").status_code == 404
    body = client.get("/statistiques/?du=2026-13-01").get_data(as_text=True)
    assert "saisissez une date valide" in body
    assert "Rose" not in client.get("/statistiques/").get_data(as_text=True)


# --- synthetic data --------------------------------------------------------------------------------

def test_synthetic_data_equal_the_coop_definitions(session, synth, make_user):
    synth(400, seed=11)
    busiest = session.execute(sa.select(Activity.mediator_id, sa.func.count()).where(Activity.deleted_at.is_(None))
                              .group_by(Activity.mediator_id).order_by(sa.func.count().desc())).first()[0]
    mediator = session.get(User, busiest)
    start = session.scalar(sa.select(sa.func.min(Activity.date)))
    end = session.scalar(sa.select(sa.func.max(Activity.date)))
    f = CoopFilters(start=start, end=end)
    stats = coop_statistics(session, mediator, f)
    assert stats.activities > 0
    assert_matches(stats, reference(session, "a.mediator_id = :me", {"me": busiest}, start, end, local_today()))
    territory_id = session.scalar(sa.select(Commune.territory_id).join(Structure, Structure.commune_id == Commune.id)
                                  .join(Activity, Activity.structure_id == Structure.id).limit(1))
    from mediation.directory.models import Territory

    coordinator = make_user(Role.COORDINATOR, territory=session.get(Territory, territory_id))
    stats = coop_statistics(session, coordinator, f)
    assert stats.accompaniments > 0
    assert_matches(stats, reference(session, "a.structure_id IN (SELECT s.id FROM structures s JOIN communes c "
                                    "ON c.id = s.commune_id WHERE c.territory_id = :t)", {"t": territory_id},
                                    start, end, local_today()))
    assert re.fullmatch(r"\d+", str(stats.beneficiaries))


def test_percentages_as_the_coop_shows_them():
    from mediation.stats.coop import format_percentage, proportion

    assert proportion(1, 3) == 33.333 and format_percentage(33.333) == "33,3\u202f%"
    assert proportion(2, 3) == 66.667 and format_percentage(66.667) == "66,7\u202f%"
    assert proportion(1, 8) == 12.5 and format_percentage(12.5) == "12,5\u202f%"
    assert proportion(1, 200_000) == 0.001 and proportion(1, 400_000) == 0.0  # 0.00025 % → 0
    assert format_percentage(100.0) == "100\u202f%" and format_percentage(0.0) == "0\u202f%"
    assert proportion(0, 0) == 0.0


def test_default_period_is_the_coops_twelve_months():
    from datetime import date

    assert CoopFilters.default(date(2026, 12, 3)) == CoopFilters(start=date(2026, 1, 1), end=date(2026, 12, 3))
    assert CoopFilters.default(date(2026, 3, 31)).start == date(2025, 4, 1)
    assert CoopFilters.default(date(2026, 11, 30)).start == date(2025, 12, 1)


def test_a_mediator_only_ever_sees_their_own_figures(session, client, login, dataset):
    n = dataset
    login(client, n.mediator_b)
    page = page_tables(client, f"/statistiques/?mediateur={n.mediator.id}")  # the parameter is ignored
    assert page.figures["fig-activites"] == "1" and page.figures["fig-accompagnements"] == "1"
    assert 'name="mediateur"' not in client.get("/statistiques/").get_data(as_text=True)
