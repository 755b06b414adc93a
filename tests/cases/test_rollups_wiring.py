"""Every change to activities through the cases services keeps the statistics rollups exact
(the dashboard reads them): log, edit (date moved to another month), delete, restore."""

from datetime import timedelta

import sqlalchemy as sa

from mediation.cases import activities, services
from mediation.cases.activities import AnonymousCounters
from mediation.cases.enums import ActivityType
from mediation.cases.models import Beneficiary, Participation
from mediation.stats import dashboard, rollups
from mediation.types import local_today


def test_rollups_follow_every_change_to_activities(session, network, make_beneficiary, activity_input, log, edit):
    person = make_beneficiary()
    earlier = local_today().replace(day=1) - timedelta(days=40)
    first = log(activity_input(beneficiary_id=person.id))
    workshop = log(activity_input(type=ActivityType.COLLECTIF, participant_ids=[person.id],
                                  counters=AnonymousCounters(total=4), workshop_title="Atelier e-mail"))
    assert rollups.differences(session) == {}
    edit(first, activity_input(beneficiary_id=person.id, date=earlier))
    assert rollups.differences(session) == {}
    activities.delete_activity(session, network.mediator, workshop)
    assert rollups.differences(session) == {}
    activities.restore_activity(session, network.mediator, workshop)
    assert rollups.differences(session) == {}


def test_dashboard_counts_a_logged_session_at_once(session, network, make_beneficiary, activity_input, log):
    """A whole-year period is read from the rollups: a session and a 5-person workshop logged
    just now are counted there (1 + 5 accompaniments), as in the raw GROUP BY."""
    start = local_today().replace(month=1, day=1) - timedelta(days=366)
    start = start.replace(day=1)
    end = local_today()
    scope = [network.structure_a.id]
    before = dashboard.means(session, start, end, structure_ids=scope)
    person = make_beneficiary()
    log(activity_input(beneficiary_id=person.id))
    log(activity_input(type=ActivityType.COLLECTIF, counters=AnonymousCounters(total=5),
                       workshop_title="Atelier"))
    after = dashboard.means(session, start, end, structure_ids=scope)
    assert after == dashboard.means_raw(session, start, end, structure_ids=scope)
    assert after.accompaniments == before.accompaniments + 6


def _derived(session):
    firsts = dict(session.execute(sa.select(Participation.id, Participation.first_accompaniment)).all())
    counts = dict(session.execute(sa.select(Beneficiary.id, Beneficiary.accompaniments_count)).all())
    return firsts, counts


def test_logging_keeps_counters_and_rollups_exact_without_full_recomputation(
        session, network, make_beneficiary, activity_input, log):
    """Logging only adds, so the services update the counters of its participants and the cells it
    touches; the result is what a full recomputation gives: a later session is not a first, an
    earlier one displaces the first accompaniment (in another month's cell), a workshop counts its
    followed and anonymous participants, an anonymous session keeps what was declared."""
    person, other = make_beneficiary(), make_beneficiary()
    today = local_today()
    log(activity_input(beneficiary_id=person.id, date=today - timedelta(days=3)))
    log(activity_input(beneficiary_id=person.id, date=today - timedelta(days=1)))
    log(activity_input(beneficiary_id=person.id, date=today - timedelta(days=90)))
    log(activity_input(beneficiary_id=person.id, date=today - timedelta(days=90)))  # same day, later id
    log(activity_input(type=ActivityType.COLLECTIF, participant_ids=[person.id, other.id],
                       counters=AnonymousCounters(total=3, already_accompanied=1), date=today - timedelta(days=200)))
    log(activity_input(anonymous=activities.AnonymousInput(already_accompanied=True)))
    session.flush()
    session.expire_all()
    assert (person.accompaniments_count, other.accompaniments_count) == (5, 1)
    stored = _derived(session)
    assert rollups.differences(session) == {}
    services.recompute_for(session, None)
    session.expire_all()
    assert _derived(session) == stored
