"""Means indicators on hand-built data with known answers, by role, territory and programme; the
rollups and the raw tables give the same figures."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from mediation.cases.enums import ActivityType, Genre, PlaceType, StatutSocial
from mediation.evaluation import indicators
from mediation.evaluation.models import programme_activities
from tests.evaluation.conftest import YEAR


@pytest.fixture
def data(build, network):
    """p1 (F, 65 in 2025, retraitée) came first in 2024; p2 (M, 25, en emploi); a workshop with p1,
    p2 and three anonymous people; p3 at structure B with mediator B; p4 far away; a deleted
    activity that counts nowhere."""
    n = network
    p1 = build.person(genre=Genre.FEMININ, birth_year=1960, statut_social=StatutSocial.RETRAITE,
                      residence_commune_id=n.commune_a.id)
    p2 = build.person(genre=Genre.MASCULIN, birth_year=2000, statut_social=StatutSocial.EN_EMPLOI)
    p3 = build.person(n.structure_b, genre=Genre.FEMININ, residence_commune_id=n.commune_a.id)
    p4 = build.person(n.structure_far)
    anonymous = [build.person(anonymous=True, genre=Genre.FEMININ) for _ in range(3)]
    build.activity(date(YEAR - 1, 12, 31), [p1])
    build.activity(date(YEAR, 1, 10), [p1], duration=60, autonomie="autonome", materiel=["ordinateur"])
    build.activity(date(YEAR, 3, 5), [p1], duration=30, themes=("email", "sante"))
    build.activity(date(YEAR, 2, 1), [p2], duration=45, place=PlaceType.A_DISTANCE)
    workshop = build.activity(date(YEAR, 3, 10), [p1, p2, *anonymous], duration=120, type=ActivityType.COLLECTIF,
                              workshop_title="Créer son adresse e-mail")
    b = build.activity(date(YEAR, 4, 1), [p3], structure=n.structure_b, mediator=n.mediator_b, duration=15)
    build.activity(date(YEAR, 5, 1), [p4], structure=n.structure_far, mediator=n.mediator_far)
    deleted = build.activity(date(YEAR, 6, 1), [p2])
    deleted.deleted_at = datetime(YEAR, 6, 2, tzinfo=UTC)
    build.done()
    return {"workshop": workshop, "b": b, "p1": p1, "p2": p2}


def figures(dashboard) -> dict:
    return {f.code: f.value for f in dashboard.figures()}


def rows(table) -> dict:
    return {r.key: r.cells[0].value for r in table.rows}


def test_means_for_everything(data, scope_for):
    dashboard = indicators.compute_dashboard(scope_for(), threshold=1)
    f = figures(dashboard)
    assert f["moyens.accompagnements"] == 10
    assert f["moyens.accompagnements_individuels"] == 5
    assert f["moyens.participants_ateliers"] == 5
    assert f["moyens.ateliers"] == 1
    assert f["moyens.beneficiaires"] == 7  # p1, p2, p3, p4 and three anonymous people
    assert f["moyens.nouveaux_beneficiaires"] == 6  # p1 came first in 2024
    assert f["moyens.heures"] == 6  # 60 + 30 + 45 + 120 + 15 + 60 minutes = 5.5 h, rounded
    assert rows(dashboard.table("moyens.par_mois"))["2025-03-01"] == 6
    assert rows(dashboard.table("moyens.par_canal")) == {"lieu_activite": 9, "a_distance": 1}
    assert rows(dashboard.table("moyens.par_duree")) == {"moins_30": 1, "30_60": 2, "60_120": 2, "120_plus": 5}
    assert rows(dashboard.table("moyens.par_thematique")) == {"email": 10, "sante": 1}
    assert rows(dashboard.table("moyens.par_genre")) == {"feminin": 5, "masculin": 1, "non_communique": 1}
    assert rows(dashboard.table("moyens.par_age"))["soixante_soixante_neuf"] == 1
    assert rows(dashboard.table("moyens.par_age"))["vingt_cinq_trente_neuf"] == 1
    assert rows(dashboard.table("moyens.par_statut"))["retraite"] == 1
    shares = [r.cells[1].value for r in dashboard.table("moyens.par_genre").rows]
    assert sum(shares) == 100


def test_coordinator_sees_their_territory_and_programmes_split_activities(data, scope_for, network, funder_setup):
    coordinator = indicators.compute_dashboard(scope_for(network.coordinator), threshold=1)
    assert figures(coordinator)["moyens.accompagnements"] == 9  # not the far structure
    p1 = indicators.compute_dashboard(scope_for(programme_id=funder_setup.p1.id), threshold=1)
    assert figures(p1)["moyens.accompagnements"] == 8
    assert p1.section("moyens").source == "rollups"
    p2 = indicators.compute_dashboard(scope_for(programme_id=funder_setup.p2.id), threshold=1)
    assert figures(p2)["moyens.accompagnements"] == 1
    assert figures(p2)["moyens.beneficiaires"] == 1


def test_explicit_attribution_is_added_to_the_rollups_once(data, scope_for, session, network, funder_setup):
    """A programme of mediator B plus a workshop attributed by hand: the rollups' cells of mediator B
    and the attributed activity from the raw tables, the same figures as the raw path."""
    session.execute(programme_activities.insert().values(programme_id=funder_setup.p2.id,
                                                         activity_id=data["workshop"].id,
                                                         attributed_at=datetime.now(UTC)))
    scope = scope_for(programme_id=funder_setup.p2.id)
    dashboard = indicators.compute_dashboard(scope, threshold=1)
    assert dashboard.section("moyens").source == "rollups"
    assert figures(dashboard)["moyens.accompagnements"] == 6
    assert figures(dashboard)["moyens.ateliers"] == 1
    assert indicators.scope_means(scope)[0] == indicators.raw_means(scope)


def test_rollups_and_raw_tables_agree(data, scope_for, network, funder_setup):
    for scope in (scope_for(), scope_for(network.coordinator), scope_for(programme_id=funder_setup.p1.id),
                  scope_for(start=date(YEAR, 1, 15), end=date(YEAR, 3, 7)),
                  scope_for(structure_id=network.structure_a.id, mediator_id=network.mediator.id)):
        from_rollups, source = indicators.scope_means(scope)
        assert source == "rollups"
        assert from_rollups == indicators.raw_means(scope)


def test_mediator_sees_own_structure_and_filters(data, scope_for, network):
    mine = indicators.compute_dashboard(scope_for(network.mediator), threshold=1)
    assert figures(mine)["moyens.accompagnements"] == 8
    commune = indicators.compute_dashboard(scope_for(commune_id=network.commune_b.id), threshold=1)
    assert figures(commune)["moyens.accompagnements"] == 1


def test_small_counts_are_suppressed_with_the_default_threshold(data, scope_for):
    dashboard = indicators.compute_dashboard(scope_for())
    assert dashboard.figure("moyens.ateliers").display == "< 5"
    assert dashboard.figure("moyens.ateliers").value is None
    canal = dashboard.table("moyens.par_canal")
    displays = {r.key: r.cells[0].display for r in canal.rows}
    assert displays == {"lieu_activite": "s", "a_distance": "< 5"}


def test_comparison_across_structures(data, scope_for, network):
    dashboard = indicators.compute_dashboard(scope_for(network.coordinator), threshold=1, compare="structures")
    table = dashboard.table("comparaison.structures")
    by_name = {r.label: [c.value for c in r.cells] for r in table.rows}
    assert by_name["France Services A"][:4] == [8, 5, 4, 1]
    assert by_name["Médiathèque B"][:2] == [1, 1]
    assert table.total.cells[0].value == 9


def test_coverage_per_commune(data, scope_for, network):
    dashboard = indicators.compute_dashboard(scope_for(network.coordinator), threshold=1)
    table = dashboard.table("maillage.communes")
    by_commune = {r.label: [c.value for c in r.cells] for r in table.rows}
    # population 10 000 each (factory); A: 8 accompaniments, residents p1 (and p3 lives in A too)
    assert by_commune["Ville-A"][:4] == [10_000, 1, 8, 2]
    assert by_commune["Ville-A"][4] == 0.8
    assert by_commune["Ville-B"][:4] == [10_000, 1, 1, 0]
    assert dashboard.figure("maillage.communes_sans_activite").value == 0


def test_data_quality_shares(data, scope_for):
    dashboard = indicators.compute_dashboard(scope_for(), threshold=1)
    quality = {r.key: (r.cells[1].value, r.cells[0].value) for r in dashboard.table("qualite.champs").rows}
    assert quality["genre"] == (9, 10)  # p4 has no genre
    assert quality["commune"] == (4, 10)  # p1 three times, p3 once
    assert quality["autonomie"] == (1, 5)
    assert quality["materiel"] == (1, 5)
