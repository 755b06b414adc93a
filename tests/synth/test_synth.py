"""The synthetic data generator: reproducible by seed, consistent with the domain's derived data,
and realistic in its distributions."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.audit.services import verify_chain
from mediation.cases import services
from mediation.cases.enums import DEMARCHE_CODES, ActivityType, CaseState
from mediation.cases.models import Activity, ActivityThematique, Beneficiary, Case, Participation
from mediation.directory.models import Commune, StaffMembership, Structure, Territory
from mediation.synth import SynthError, SynthOptions, load
from tests.synth.conftest import fingerprint


def scalar(session, sql: str, **params):
    return session.execute(sa.text(sql), params).scalar()


def test_same_seed_same_data_other_seed_other_data(session, synth):
    prints = []
    for seed in (7, 7, 8):
        savepoint = session.begin_nested()
        report = synth(1200, seed=seed)
        assert report.counts["participations"] == 1200
        prints.append(fingerprint(session))
        savepoint.rollback()
    assert prints[0] == prints[1]
    assert prints[0] != prints[2]


def test_exact_number_of_accompaniments_and_every_derived_field(session, synth):
    report = synth(3000)
    assert session.scalar(sa.select(sa.func.count(Participation.id))) == 3000
    # participants_count is the number of participations of each activity
    assert session.scalar(sa.select(sa.func.sum(Activity.participants_count))) == 3000
    per_activity = sa.select(Participation.activity_id, sa.func.count().label("n")).group_by(
        Participation.activity_id).subquery()
    assert session.scalar(
        sa.select(sa.func.count()).select_from(Activity).outerjoin(per_activity, per_activity.c.activity_id == Activity.id)
        .where(Activity.participants_count != sa.func.coalesce(per_activity.c.n, 0))) == 0
    # first_accompaniment and accompaniments_count are what the domain services compute
    before = session.execute(sa.select(Participation.id, Participation.first_accompaniment)
                             .order_by(Participation.id)).all()
    counts = session.execute(sa.select(Beneficiary.id, Beneficiary.accompaniments_count)
                             .order_by(Beneficiary.id)).all()
    services.recompute_first_accompaniments(session, None)
    services.recompute_counts(session, None)
    assert session.execute(sa.select(Participation.id, Participation.first_accompaniment)
                           .order_by(Participation.id)).all() == before
    assert session.execute(sa.select(Beneficiary.id, Beneficiary.accompaniments_count)
                           .order_by(Beneficiary.id)).all() == counts
    # exactly one first accompaniment per identified person with a live participation
    firsts = dict(session.execute(
        sa.select(Participation.beneficiary_id, sa.func.sum(sa.case((Participation.first_accompaniment, 1), else_=0)))
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .where(Beneficiary.anonymous.is_(False)).group_by(Participation.beneficiary_id)).all())
    live = dict(session.execute(sa.select(Beneficiary.id, Beneficiary.accompaniments_count)
                                .where(Beneficiary.anonymous.is_(False))).all())
    assert firsts and all(firsts[b] == (1 if live[b] else 0) for b in firsts)
    # anonymous people: one participation each, counted once unless the activity was deleted
    assert scalar(session, """SELECT count(*) FROM beneficiaries b WHERE b.anonymous AND
        (SELECT count(*) FROM participations p WHERE p.beneficiary_id = b.id) <> 1""") == 0
    # each identified person has one case, and their participations point to it
    assert scalar(session, """SELECT count(*) FROM participations p JOIN beneficiaries b ON b.id = p.beneficiary_id
        LEFT JOIN cases c ON c.id = p.case_id
        WHERE (b.anonymous AND p.case_id IS NOT NULL) OR (NOT b.anonymous AND c.beneficiary_id <> b.id)""") == 0
    assert report.counts["cases"] == session.scalar(
        sa.select(sa.func.count(Beneficiary.id)).where(Beneficiary.anonymous.is_(False)))
    # every activity was logged by someone working for that structure that day
    assert scalar(session, """SELECT count(*) FROM activities a WHERE NOT EXISTS (
        SELECT 1 FROM staff_memberships m WHERE m.user_id = a.mediator_id AND m.structure_id = a.structure_id
        AND m.started_on <= a.date AND (m.ended_on IS NULL OR m.ended_on >= a.date))""") == 0
    # the load is audited (one event, no personal data) and the chain holds
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "synth.loaded"))
    assert event.details["accompaniments"] == 3000 and event.details["seed"] == 7
    assert verify_chain(session).ok


def test_distributions_look_like_the_national_tools(session, synth):
    synth(6000, months=12)
    types = Counter(dict(session.execute(sa.select(Activity.type, sa.func.count()).group_by(Activity.type)).all()))
    share = types[ActivityType.INDIVIDUEL] / (types[ActivityType.INDIVIDUEL] + types[ActivityType.COLLECTIF])
    assert 0.75 <= share <= 0.85
    sizes = session.execute(sa.select(sa.func.min(Activity.participants_count), sa.func.max(Activity.participants_count))
                            .where(Activity.type == ActivityType.COLLECTIF)).one()
    assert sizes[0] >= 3 and sizes[1] <= 15
    by_month = Counter()
    for day, weight in session.execute(sa.select(Activity.date, Activity.participants_count)):
        by_month[day.month] += weight
    assert by_month[8] < 0.5 * by_month[10]
    assert by_month[8] < by_month[1] and by_month[8] < by_month[3]
    sundays = sum(1 for (day,) in session.execute(sa.select(Activity.date)) if day.weekday() == 6)
    assert sundays < 0.01 * sum(types.values())
    top = session.execute(
        sa.select(ActivityThematique.code, sa.func.count()).join(Activity, Activity.id == ActivityThematique.activity_id)
        .where(Activity.type == ActivityType.INDIVIDUEL).group_by(ActivityThematique.code)
        .order_by(sa.func.count().desc())).first()
    assert top[0] == "aide_aux_demarches_administratives"
    # démarche sub-thématiques only come with "Aide aux démarches administratives"
    with_demarches = sa.select(ActivityThematique.activity_id).where(ActivityThematique.code.in_(DEMARCHE_CODES))
    with_aide = sa.select(ActivityThematique.activity_id).where(
        ActivityThematique.code == "aide_aux_demarches_administratives")
    assert session.scalar(sa.select(sa.func.count()).select_from(
        with_demarches.except_(with_aide).subquery())) == 0
    assert session.scalar(sa.select(sa.func.count()).select_from(with_demarches.subquery())) > 0
    states = {s for (s,) in session.execute(sa.select(Case.state).distinct())}
    assert states == set(CaseState)
    identified = session.execute(sa.select(Beneficiary.genre, sa.func.count()).where(
        Beneficiary.anonymous.is_(False)).group_by(Beneficiary.genre)).all()
    genres = Counter({g: n for g, n in identified})
    assert genres["feminin"] > genres["masculin"] > 0


def test_territories_communes_and_structures_are_plausible(session, synth):
    synth(2000, territories=3)
    territories = session.scalars(sa.select(Territory)).all()
    assert len(territories) == 3
    for territory in territories:
        codes = [c.insee_code for c in territory.communes]
        assert len(set(codes)) == len(codes) >= 10
        prefix = codes[0][:3] if codes[0].startswith("97") else codes[0][:2]
        assert all(len(code) == 5 and code.startswith(prefix) for code in codes)
        assert all(c.population > 0 and c.postal_code and len(c.postal_code) == 5 for c in territory.communes)
    assert session.scalar(sa.select(sa.func.count(Structure.id))) >= 4
    assert session.scalar(sa.select(sa.func.count(StaffMembership.id).filter(StaffMembership.ended_on.isnot(None)))) >= 0
    assert all(s.typologies for s in session.scalars(sa.select(Structure)))
    communes = session.scalar(sa.select(sa.func.count(Commune.id)))
    assert communes == sum(len(t.communes) for t in territories)


def test_a_second_load_adds_new_territories_without_collisions(session, synth):
    synth(500)
    synth(500, seed=9)
    assert session.scalar(sa.select(sa.func.count(Participation.id))) == 1000
    assert session.scalar(sa.select(sa.func.count(Territory.id))) == 4


def test_too_many_territories_is_refused_clearly(session):
    load(session, SynthOptions(accompaniments=10, territories=101, end=date(2026, 1, 31), months=1))
    with pytest.raises(SynthError, match="codes de département libres"):
        load(session, SynthOptions(accompaniments=10, territories=1, end=date(2026, 1, 31), months=1))
