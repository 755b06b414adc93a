"""Rollups stay exact: equal to the raw GROUP BY after a synthetic load, after every kind of change
made through the domain services followed by the refresh hook, and after a rebuild."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mediation.auth.models import Role, User
from mediation.cases import activities, policy, services
from mediation.cases.activities import ActivityInput, AnonymousCounters
from mediation.cases.enums import ActivityType, PlaceType, Thematique
from mediation.cases.models import Activity, Beneficiary, Participation
from mediation.directory.scopes import structure_scope
from mediation.stats import dashboard, rollups
from mediation.stats.models import ActivityRollup
from tests.synth.conftest import END


def assert_exact(session):
    assert rollups.differences(session) == {}


@pytest.fixture
def loaded(session, synth):
    synth(2500)
    return session


@pytest.fixture
def mediator(loaded):
    return loaded.scalar(sa.select(User).where(User.role == Role.MEDIATOR).order_by(User.id).limit(1))


def periods():
    start_12 = date(END.year - 1, END.month, 1) + timedelta(days=31)
    return [
        (date(2000, 1, 1), END),                                  # everything
        (start_12.replace(day=1), END),                           # the last 12 whole months
        (END - timedelta(days=200), END - timedelta(days=17)),    # not aligned on months
        (END - timedelta(days=10), END - timedelta(days=3)),      # inside one month
    ]


@pytest.mark.parametrize("edge_limit", [dashboard.EDGE_ACTIVITIES_MAX, 3])
def test_rollups_equal_the_raw_group_by_after_a_load(loaded, edge_limit, monkeypatch):
    monkeypatch.setattr(dashboard, "EDGE_ACTIVITIES_MAX", edge_limit)  # both ways of reading the edges
    assert_exact(loaded)
    assert loaded.scalar(sa.select(sa.func.sum(ActivityRollup.accompaniments))) == loaded.scalar(
        sa.select(sa.func.count(Participation.id)).join(Activity).where(Activity.deleted_at.is_(None)))
    coordinator = loaded.scalar(sa.select(User).where(User.role == Role.COORDINATOR).order_by(User.id).limit(1))
    mediator_id = loaded.scalar(sa.select(Activity.mediator_id).limit(1))
    for start, end in periods():
        for scope in ({}, {"structure_ids": structure_scope(coordinator)}, {"mediator_ids": [mediator_id]}):
            fast = dashboard.means(loaded, start, end, **scope)
            raw = dashboard.means_raw(loaded, start, end, **scope)
            assert fast == raw, (start, end, scope)
    everything = dashboard.means(loaded, date(2000, 1, 1), END)
    assert everything.accompaniments == 2500 - loaded.scalar(
        sa.select(sa.func.sum(Activity.participants_count)).where(Activity.deleted_at.isnot(None)))
    assert everything.beneficiaries == everything.followed_beneficiaries + everything.anonymous_beneficiaries
    assert 0 < everything.new_beneficiaries < everything.accompaniments
    assert sum(everything.by_month.values()) == sum(everything.by_structure.values()) == everything.accompaniments


def _individual(mediator, structure_id, day, beneficiary_id=None, **overrides) -> ActivityInput:
    values = dict(type=ActivityType.INDIVIDUEL, structure_id=structure_id, date=day, duration_min=45,
                  place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=structure_id,
                  thematiques=[Thematique.EMAIL.value], beneficiary_id=beneficiary_id)
    values.update(overrides)
    return ActivityInput(**values)


def test_incremental_refresh_after_each_service_change(loaded, mediator):
    session = loaded
    loader = policy.beneficiary_loader(session, mediator)
    structure_id = activities.mediator_structures(session, mediator)[0].id
    person = session.scalar(
        sa.select(Beneficiary).where(Beneficiary.owner_structure_id == structure_id,
                                     Beneficiary.anonymous.is_(False), Beneficiary.accompaniments_count >= 2)
        .order_by(Beneficiary.id).limit(1))
    earliest = session.scalar(sa.select(sa.func.min(Activity.date)))

    # a session earlier than the person's first one: their first accompaniment moves to it
    activity = activities.log_activity(session, mediator, _individual(mediator, structure_id, earliest, person.id),
                                       visible_beneficiary=loader)
    # the service keeps the rollups exact itself (targeted refresh), and a refresh changes nothing
    assert_exact(session)
    rollups.refresh_rollups(session, [activity.id])
    assert_exact(session)

    # edited into another month (capture the cells first), then deleted, then restored
    before = rollups.capture(session, [activity.id])
    activities.update_activity(session, mediator, activity,
                               _individual(mediator, structure_id, earliest + timedelta(days=70), person.id),
                               visible_beneficiary=loader)
    rollups.refresh_rollups(session, [activity.id], previous=before)
    assert_exact(session)
    activities.delete_activity(session, mediator, activity)
    rollups.refresh_rollups(session, [activity.id])
    assert_exact(session)
    activities.restore_activity(session, mediator, activity)
    rollups.refresh_rollups(session, [activity.id])
    assert_exact(session)

    # the beneficiary of an individual session changes: the old one's history is in `before`
    other = session.scalar(
        sa.select(Beneficiary).where(Beneficiary.owner_structure_id == structure_id,
                                     Beneficiary.anonymous.is_(False), Beneficiary.id != person.id)
        .order_by(Beneficiary.id).limit(1))
    before = rollups.capture(session, [activity.id])
    activities.update_activity(session, mediator, activity,
                               _individual(mediator, structure_id, earliest + timedelta(days=70), other.id),
                               visible_beneficiary=loader)
    rollups.refresh_rollups(session, [activity.id], previous=before)
    assert_exact(session)

    # a workshop with followed and anonymous participants
    workshop = activities.log_activity(session, mediator, ActivityInput(
        type=ActivityType.COLLECTIF, structure_id=structure_id, date=END - timedelta(days=3), duration_min=90,
        place_type=PlaceType.LIEU_ACTIVITE.value, place_structure_id=structure_id,
        thematiques=[Thematique.SECURITE_NUMERIQUE.value, Thematique.EMAIL.value],
        participant_ids=[person.id, other.id], counters=AnonymousCounters(total=6, already_accompanied=2)),
        visible_beneficiary=loader)
    rollups.refresh_rollups(session, [workshop.id])
    assert_exact(session)


def test_refresh_after_a_merge_and_after_bulk_changes(loaded, mediator):
    session = loaded
    source, target = session.scalars(
        sa.select(Beneficiary).where(Beneficiary.anonymous.is_(False), Beneficiary.accompaniments_count > 0)
        .order_by(Beneficiary.id).limit(2)).all()
    # a merge as the cases domain does it: participations move, counters are recomputed
    taken = sa.select(Participation.activity_id).where(Participation.beneficiary_id == target.id)
    session.execute(sa.update(Participation).where(Participation.beneficiary_id == source.id,
                                                   Participation.activity_id.not_in(taken))
                    .values(beneficiary_id=target.id).execution_options(synchronize_session=False))
    session.execute(sa.delete(Participation).where(Participation.beneficiary_id == source.id)
                    .execution_options(synchronize_session=False))
    session.execute(sa.update(Activity).values(participants_count=sa.select(sa.func.count(Participation.id))
                    .where(Participation.activity_id == Activity.id).scalar_subquery())
                    .execution_options(synchronize_session=False))
    services.recompute_for(session, [source.id, target.id])
    rollups.refresh_rollups(session, beneficiary_ids=[target.id, source.id])
    assert_exact(session)

    # a bulk correction made in SQL: whole months are recomputed
    month = END.replace(day=1)
    session.execute(sa.update(Activity).where(Activity.date >= month).values(duration_min=30)
                    .execution_options(synchronize_session=False))
    session.execute(sa.update(Activity).where(Activity.date >= month, Activity.id % 5 == 0)
                    .values(deleted_at=sa.func.current_timestamp()).execution_options(synchronize_session=False))
    services.recompute_for(session, None)
    assert rollups.differences(session)
    rollups.refresh_rollups(session, dates=[month])
    assert_exact(session)


def test_rebuild_repairs_and_check_reports(loaded):
    session = loaded
    session.execute(sa.update(ActivityRollup).where(ActivityRollup.activities > 1)
                    .values(accompaniments=ActivityRollup.accompaniments + 1))
    found = rollups.differences(session)
    assert set(found) == {"activity_rollups"}
    counts = rollups.rebuild(session)
    assert counts["activity_rollups"] > 0
    assert_exact(session)


def test_full_months_of_a_period():
    assert dashboard.full_months(date(2026, 1, 1), date(2026, 3, 31)) == (date(2026, 1, 1), date(2026, 3, 1))
    assert dashboard.full_months(date(2026, 1, 2), date(2026, 3, 30)) == (date(2026, 2, 1), date(2026, 2, 1))
    assert dashboard.full_months(date(2026, 1, 2), date(2026, 2, 27)) is None
    assert dashboard.full_months(date(2025, 12, 1), date(2026, 1, 31)) == (date(2025, 12, 1), date(2026, 1, 1))


def test_refresh_after_anonymisation_for_retention(loaded):
    session = loaded
    people = session.scalars(sa.select(Beneficiary.id).where(
        Beneficiary.anonymous.is_(False), Beneficiary.accompaniments_count >= 2).order_by(Beneficiary.id).limit(3)).all()
    before = dashboard.means(session, date(2000, 1, 1), END)
    session.execute(sa.update(Beneficiary).where(Beneficiary.id.in_(people))
                    .values(anonymous=True, first_name=None, last_name=None, email=None, phone=None, birth_year=None)
                    .execution_options(synchronize_session=False))
    rollups.refresh_rollups(session, beneficiary_ids=people)
    assert_exact(session)
    after = dashboard.means(session, date(2000, 1, 1), END)
    assert after.accompaniments == before.accompaniments
    assert after.followed_beneficiaries == before.followed_beneficiaries - 3
    assert after == dashboard.means_raw(session, date(2000, 1, 1), END)


def test_people_profiles_and_units_from_the_rollups_equal_the_raw_tables_after_a_load(loaded):
    """The impact dashboard's people figures (profile of the people accompanied, people of the
    outcomes, comparisons by structure, commune and mediator) from the rollups — whole months, raw
    edges — equal the raw path on realistic data: anonymous participants with declared profiles,
    people followed in several structures."""
    from mediation.evaluation import indicators
    from mediation.evaluation.scope import EvaluationFilter, Scope, authorise
    from mediation.stats.models import AnonymousProfileRollup

    assert loaded.scalar(sa.select(sa.func.sum(AnonymousProfileRollup.accompaniments))) == loaded.scalar(
        sa.select(sa.func.sum(ActivityRollup.anonymous_accompaniments)))
    coordinator = loaded.scalar(sa.select(User).where(User.role == Role.COORDINATOR).order_by(User.id).limit(1))
    mediator_id = loaded.scalar(sa.select(Activity.mediator_id).order_by(Activity.id).limit(1))
    admin = User(role=Role.ADMIN, email="admin-stats@test.example", first_name="A", last_name="Dmin")

    def figures(scope):
        scope.cache.clear()
        profile = indicators.person_profile(scope)
        units = [indicators.comparison_section(scope, d, 1).tables[0].rows for d in indicators.COMPARE_DIMENSIONS]
        return profile, scope.cache["people_counts"], sorted(loaded.scalars(scope.people())), units

    for start, end in periods()[1:]:
        for user, filters in ((coordinator, {}), (admin, {"mediator_id": mediator_id})):
            scope = Scope(loaded, user, authorise(loaded, user, EvaluationFilter(start=start, end=end, **filters)))
            fast = figures(scope)
            assert fast[1][0] > 0
            scope.use_rollups = False
            assert fast == figures(scope), (start, end, filters)
