"""The demo year of activity: realistic shape, and derived counters exactly right."""

from __future__ import annotations

import sqlalchemy as sa

from mediation.cases.demo import load_cases_demo
from mediation.cases.enums import ActivityType, CaseState
from mediation.cases.models import Activity, Beneficiary, Case, Participation


def test_demo_year_is_consistent(session, network):
    counts = load_cases_demo(session, territory=network.territory,
                             structures=[network.structure_a, network.structure_b],
                             users=[network.mediator, network.mediator_b, network.aidant, network.coordinator],
                             scale=0.5)
    assert counts["activities"] > 300 and counts["participations"] > counts["activities"]
    workshops = session.scalar(sa.select(sa.func.count()).where(Activity.type == ActivityType.COLLECTIF))
    assert 0.12 < workshops / counts["activities"] < 0.3
    assert {s for (s,) in session.execute(sa.select(Case.state).distinct())} == set(CaseState)
    # participants_count and accompaniments_count match the participations
    mismatched = session.scalar(sa.select(sa.func.count()).select_from(Activity).where(
        Activity.participants_count != sa.select(sa.func.count(Participation.id))
        .where(Participation.activity_id == Activity.id).scalar_subquery()))
    assert mismatched == 0
    total = session.scalar(sa.select(sa.func.sum(Beneficiary.accompaniments_count)))
    assert total == counts["participations"]
    # exactly one first accompaniment per followed person who came, and it is their earliest
    rows = session.execute(
        sa.select(Participation.beneficiary_id, Activity.date, Activity.id, Participation.first_accompaniment)
        .join(Activity).join(Beneficiary).where(Beneficiary.anonymous.is_(False))
        .order_by(Participation.beneficiary_id, Activity.date, Activity.id)).all()
    seen = set()
    for beneficiary_id, _day, _id, first in rows:
        assert first == (beneficiary_id not in seen)
        seen.add(beneficiary_id)
    # every followed participation is on the person's case
    assert session.scalar(sa.select(sa.func.count()).select_from(Participation).join(Beneficiary).where(
        Beneficiary.anonymous.is_(False), Participation.case_id.is_(None))) == 0
