"""The dashboard's fast path (rollups for whole months, raw tables for the days at the edges) gives
exactly the figures of the raw path — every figure, table cell and suppression mark — on hand-built
data with activities on both sides of each edge day: the people's profile, the outcomes' people
and the comparisons by structure, commune and mediator."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from mediation.cases.enums import ActivityType, Genre, StatutSocial, TrancheAge
from mediation.cases.models import Activity, Beneficiary
from mediation.evaluation import indicators
from mediation.evaluation.indicators import COMPARE_DIMENSIONS
from mediation.stats import rollups
from tests.evaluation.conftest import YEAR

EDGES = (date(YEAR, 1, 15), date(YEAR, 4, 10))  # whole months: February and March


@pytest.fixture
def data(build, network, session):
    n = network
    ann = build.person(genre=Genre.FEMININ, birth_year=1958, statut_social=StatutSocial.RETRAITE,
                       residence_commune_id=n.commune_a.id, last_name="Ann")
    bob = build.person(genre=Genre.MASCULIN, birth_year=1990, statut_social=StatutSocial.SANS_EMPLOI,
                       last_name="Bob")
    cyd = build.person(n.structure_b, residence_commune_id=n.commune_b.id, last_name="Cyd")
    dee = build.person(n.structure_far, genre=Genre.FEMININ, birth_year=2010, last_name="Dee")
    # Identified at the time, anonymised later (retention): counts as anonymous, each participation once.
    eve = build.person(genre=Genre.FEMININ, birth_year=1970, residence_commune_id=n.commune_b.id, last_name="Eve")

    def anonymous(**fields):
        return build.person(anonymous=True, **fields)

    days = {
        "before": date(YEAR, 1, 14), "first_edge": date(YEAR, 1, 15), "january": date(YEAR, 1, 31),
        "february": date(YEAR, 2, 1), "march": date(YEAR, 3, 31), "april": date(YEAR, 4, 1),
        "last_edge": date(YEAR, 4, 10), "after": date(YEAR, 4, 11),
    }
    for name, day in days.items():
        build.activity(day, [ann])
        build.activity(day, [bob, anonymous(genre=Genre.MASCULIN, tranche_age=TrancheAge.DOUZE_DIX_HUIT),
                             anonymous(statut_social=StatutSocial.SCOLARISE, residence_commune_id=n.commune_a.id),
                             anonymous()], type=ActivityType.COLLECTIF, duration=90)
        build.activity(day, [cyd, ann, anonymous(genre=Genre.FEMININ)], structure=n.structure_b,
                       mediator=n.mediator_b, type=ActivityType.COLLECTIF)
        build.activity(day, [dee, anonymous(genre=Genre.FEMININ)], structure=n.structure_far,
                       mediator=n.mediator_far)
        if name in ("january", "february", "last_edge"):
            build.activity(day, [eve], structure=n.structure_b, mediator=n.mediator_b)
    # Fay comes once, the day before the first edge: in a partial month read whole from the rollups,
    # the days outside the period are subtracted, and she must leave the people counted.
    fay = build.person(n.structure_b, genre=Genre.FEMININ, statut_social=StatutSocial.SANS_EMPLOI, last_name="Fay")
    build.activity(days["before"], [fay, anonymous(genre=Genre.MASCULIN)], structure=n.structure_b,
                   mediator=n.mediator_b)
    build.activity(date(YEAR, 3, 2), [bob], mediator=n.mediator_b, equipment_kind="don", equipment_count=1)
    deleted = build.activity(date(YEAR, 2, 3), [cyd, anonymous()], structure=n.structure_b, mediator=n.mediator_b)
    deleted.deleted_at = datetime(YEAR, 2, 4, tzinfo=UTC)
    build.done()
    session.execute(sa.update(Beneficiary).where(Beneficiary.id == eve.id).values(
        anonymous=True, first_name=None, last_name=None, birth_year=None, tranche_age=TrancheAge.QUARANTE_CINQUANTE_NEUF))
    rollups.refresh_rollups(session, beneficiary_ids=[eve.id])
    assert rollups.differences(session) == {}
    return n


def places_and_posts(session, network, funder_setup, name):
    """A programme of places and posts: structure B, and mediator B wherever they work (structure A
    on March 2). A cell of either counts, once."""
    from mediation.evaluation.models import Programme

    programme = Programme(funder_id=funder_setup.metro.id, name=name, starts_on=date(YEAR, 1, 1),
                          ends_on=date(YEAR, 12, 31), territory_id=network.territory.id)
    programme.structures = [network.structure_b]
    programme.mediators = [network.mediator_b]
    session.add(programme)
    session.flush()
    return programme


@pytest.fixture
def both(session, network, funder_setup):
    return places_and_posts(session, network, funder_setup, "Lieux et postes")


@pytest.fixture
def attributed(session, data, network, funder_setup):
    """The same, plus activities attributed one by one: structure « far »'s on a day at an edge, in
    a month read whole and before the periods, and one that its cells already hold (it counts once)."""
    from mediation.evaluation.models import programme_activities

    programme = places_and_posts(session, network, funder_setup, "Lieux, postes et ateliers")
    chosen = [session.scalar(sa.select(Activity.id).where(Activity.structure_id == structure.id, Activity.date == day)
                             .order_by(Activity.id).limit(1))
              for structure, day in [(network.structure_far, date(YEAR, 1, 15)), (network.structure_far, date(YEAR, 2, 1)),
                                     (network.structure_far, date(YEAR, 1, 14)), (network.structure_b, date(YEAR, 3, 31))]]
    assert None not in chosen
    session.execute(programme_activities.insert(), [{"programme_id": programme.id, "activity_id": a} for a in chosen])
    session.flush()
    return programme


def scopes(scope_for, network, funder_setup, both, attributed=None):
    # Edges on both sides, whole months only, days inside one month only; partial months mostly
    # covered (read whole, the days outside subtracted: January 1–14 for the first period, 21–31,
    # February 1–9, April 26–30) and barely covered (the days added: April 1–10).
    periods = [EDGES, (date(YEAR, 2, 1), date(YEAR, 3, 31)), (date(YEAR, 1, 15), date(YEAR, 1, 31)),
               (date(YEAR, 1, 1), date(YEAR, 1, 20)), (date(YEAR, 2, 10), date(YEAR, 4, 25))]
    for start, end in periods:
        yield scope_for(start=start, end=end)
        yield scope_for(network.coordinator, start=start, end=end)
        yield scope_for(network.mediator, start=start, end=end)
        yield scope_for(start=start, end=end, structure_id=network.structure_b.id)
        yield scope_for(start=start, end=end, mediator_id=network.mediator_b.id)
        yield scope_for(start=start, end=end, commune_id=network.commune_a.id)
        yield scope_for(start=start, end=end, programme_id=funder_setup.p1.id)  # structures
        yield scope_for(start=start, end=end, programme_id=funder_setup.p2.id)  # mediators
        yield scope_for(start=start, end=end, programme_id=both.id)  # structures and mediators
        yield scope_for(network.coordinator, start=start, end=end, programme_id=both.id)
        yield scope_for(start=start, end=end, programme_id=both.id, mediator_id=network.mediator_b.id)
        yield scope_for(start=start, end=end, programme_id=both.id, structure_id=network.structure_a.id)
        if attributed is not None:
            yield scope_for(start=start, end=end, programme_id=attributed.id)
            yield scope_for(start=start, end=end, programme_id=attributed.id, mediator_id=network.mediator_far.id)
            yield scope_for(network.coordinator, start=start, end=end, programme_id=attributed.id)


def raw(scope):
    scope.use_rollups = False
    scope.cache.clear()
    return scope


def comparable(dashboard) -> list:
    sections = []
    for section in dashboard.sections:
        content = dataclasses.asdict(section)
        content.pop("source")
        sections.append(content)
    return sections


def test_people_and_profile_from_the_rollups_equal_the_raw_tables(data, scope_for, network, funder_setup, both,
                                                                  attributed, session):
    for scope in scopes(scope_for, network, funder_setup, both, attributed):
        assert scope.rollup_ids() is not None
        profile, counts = indicators.person_profile(scope), scope.cache["people_counts"]
        people = sorted(session.scalars(scope.people()))
        assert people == sorted(session.scalars(scope.people_raw()))
        raw(scope)
        assert (profile, counts) == (indicators.person_profile(scope), scope.cache["people_counts"]), \
            scope.filter
    everything = scope_for(start=EDGES[0], end=EDGES[1])
    profile = indicators.person_profile(everything)
    # Six days in the period, five anonymous participations a day, and Eve (anonymised) three times;
    # four identified people, each accompanied more than once.
    for by_value in profile:  # genre, age band, statut, commune: every beneficiary under one value of each
        assert sum(beneficiaries for _, beneficiaries in by_value.values()) == 4 + 5 * 6 + 3
    assert everything.cache["people_counts"] == (4, 4)


def test_whole_dashboard_with_comparisons_is_the_same_on_both_paths(data, scope_for, network, funder_setup, both,
                                                                     attributed):
    for scope in scopes(scope_for, network, funder_setup, both, attributed):
        for dimension, threshold in [(d, 1) for d in COMPARE_DIMENSIONS] + [("structures", 5)]:
            scope.cache.clear()
            fast = indicators.compute_dashboard(scope, threshold=threshold, compare=dimension)
            assert fast.section("moyens").source == "rollups"
            reference = indicators.compute_dashboard(raw(scope), threshold=threshold, compare=dimension)
            assert reference.section("moyens").source == "raw"
            assert comparable(fast) == comparable(reference), (scope.filter, dimension)
            scope.use_rollups = True


def test_comparison_counts_people_once_per_unit(data, scope_for, network):
    dashboard = indicators.compute_dashboard(scope_for(network.coordinator, start=EDGES[0], end=EDGES[1]),
                                             threshold=1, compare="communes")
    rows = {r.label: [c.value for c in r.cells] for r in dashboard.table("comparaison.communes").rows}
    # Ville-B (structure B, six days): a workshop of Cyd, Ann and an anonymous person a day, Eve
    # (anonymised) three times; people: Cyd and Ann once, each anonymous participation.
    assert rows["Ville-B"][:2] == [6 * 3 + 3, 2 + 6 + 3]
    # Ville-A: Ann alone and Bob with three anonymous people each day, Bob's equipment session.
    assert rows["Ville-A"][:2] == [6 * 5 + 1, 2 + 6 * 3]
