"""Retention never changes a closed period: on a synthetic network of three years and a half, every
indicator of the impact evaluation (means, outputs, outcomes, coverage, comparisons, data quality),
for several filters and periods, is the same before and after ``flask retention --apply`` (the real
command), and nothing personal is left on the anonymised records."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth.models import Role, User
from mediation.cases.enums import ActivityType
from mediation.cases.models import (
    Activity,
    AnonymisedAgeBand,
    Beneficiary,
    Case,
    CaseNote,
    Participation,
)
from mediation.directory.models import Structure
from mediation.evaluation import indicators
from mediation.evaluation.scope import Scope, authorise, parse_filter
from mediation.stats import rollups
from mediation.synth import SynthOptions, load
from mediation.types import local_today

END = local_today().replace(day=1) - timedelta(days=1)
MONTHS = 42


def snapshot(dashboard) -> dict:
    """Every figure and table of a dashboard (the computation time aside)."""
    data = dataclasses.asdict(dashboard)
    data.pop("generated_at")
    return data


def periods() -> list[tuple[date, date]]:
    first = date(END.year - 3, 1, 1)
    years = [(date(y, 1, 1), date(y, 12, 31)) for y in range(first.year, END.year)]
    return [*years, (date(END.year - 2, 3, 17), date(END.year - 1, 8, 9)),  # not aligned on months
            (date(END.year - 3, 1, 1), END)]                                # everything


def all_indicators(session, cases) -> dict:
    out = {}
    for name, user, args, compare in cases:
        for start, end in periods():
            query = {"du": start.isoformat(), "au": end.isoformat(), **args}
            scope = Scope(session, user, authorise(session, user, parse_filter(query)))
            out[(name, start, end)] = snapshot(indicators.compute_dashboard(scope, compare=compare))
    return out


@pytest.fixture
def synthetic(session, network):
    report = load(session, SynthOptions(accompaniments=4000, seed=11, end=END, months=MONTHS, territories=2))
    assert report.counts["participations"] > 3000
    return session


def filters(session, network) -> list[tuple]:
    coordinator = session.scalar(sa.select(User).where(User.role == Role.COORDINATOR, User.territory_id.is_not(None))
                                 .order_by(User.id.desc()).limit(1))
    structures = list(session.execute(sa.select(Structure.id, Structure.commune_id)
                                      .where(Structure.id.in_(sa.select(Activity.structure_id)))
                                      .order_by(Structure.id).limit(2)))
    mediator_id = session.scalar(sa.select(Activity.mediator_id).group_by(Activity.mediator_id)
                                 .order_by(sa.func.count().desc()).limit(1))
    admin = network.admin
    return [
        ("tout", admin, {}, "structures"),
        ("coordination", coordinator, {}, "communes"),
        ("structure", admin, {"structure": str(structures[0][0])}, None),
        ("commune", admin, {"commune": str(structures[1][1])}, None),
        ("mediateur", admin, {"mediateur": str(mediator_id)}, "mediateurs"),
    ]


def test_retention_leaves_every_indicator_of_every_period_unchanged(app, synthetic, network):
    session = synthetic
    cases = filters(session, network)
    before = all_indicators(session, cases)
    people = {"distinct": before[("tout", *periods()[1])]}
    identities = dict(session.execute(sa.select(Beneficiary.id, Beneficiary.last_name)
                                      .where(Beneficiary.anonymous.is_(False))).all())

    result = app.test_cli_runner().invoke(args=["retention", "--apply"])
    assert result.exit_code == 0, result.output
    session.expire_all()
    anonymised = set(session.scalars(sa.select(Beneficiary.id).where(Beneficiary.anonymised_at.is_not(None))))
    # A real part of the people went, many of them with several accompaniments.
    assert len(anonymised) > 100, result.output
    several = session.scalar(sa.select(sa.func.count()).select_from(
        sa.select(Participation.beneficiary_id).where(Participation.beneficiary_id.in_(anonymised))
        .group_by(Participation.beneficiary_id).having(sa.func.count() >= 2).subquery()))
    assert several > 50
    assert session.scalar(sa.select(sa.func.count()).select_from(AnonymisedAgeBand)) > 0  # some crossed a band

    after = all_indicators(session, cases)
    for key, figures in before.items():
        assert after[key] == figures, key
    assert rollups.differences(session) == {}
    distinct = next(f for s in people["distinct"]["sections"] for f in s["figures"] if f["code"] == "moyens.beneficiaires")
    assert distinct["value"] > 0

    # Nothing personal is left on the anonymised records, their cases or their individual sessions.
    leftovers = session.execute(sa.select(Beneficiary).where(Beneficiary.id.in_(anonymised))).scalars().all()
    for person in leftovers:
        assert person.anonymous and (person.first_name, person.last_name, person.email, person.phone,
                                     person.birth_year, person.notes, person.external_id) == (None,) * 7
    assert session.scalar(sa.select(sa.func.count(CaseNote.id)).join(Case, Case.id == CaseNote.case_id)
                          .where(Case.beneficiary_id.in_(anonymised))) == 0
    assert session.scalar(sa.select(sa.func.count(Activity.id)).join(Participation).where(
        Participation.beneficiary_id.in_(anonymised), Activity.type == ActivityType.INDIVIDUEL,
        Activity.notes.is_not(None))) == 0
    details = json.dumps([e.details for e in session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action.in_(["beneficiary.anonymised", "retention.run"])))])
    for beneficiary_id in list(anonymised)[:200]:
        assert identities[beneficiary_id] not in details
