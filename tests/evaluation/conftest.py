"""Hand-built data for the indicator tests: activities, participations, cases, diagnoses,
enrolments, referrals and follow-ups written directly (so that every expected figure is known),
then the derived counters recomputed by the cases services and the rollups rebuilt."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from mediation.auth.models import Role
from mediation.cases import services as case_services
from mediation.cases.enums import ActivityType, Autonomie, CaseState, Genre, PlaceType, StatutSocial
from mediation.cases.models import Activity, ActivityThematique, Beneficiary, Case, Participation
from mediation.evaluation.models import (
    FollowUp,
    FollowUpStatus,
    FollowUpTrigger,
    Funder,
    FunderKind,
    Programme,
)
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise
from mediation.pathways.enums import AssessmentMoment, AutonomyDomain
from mediation.pathways.models import Assessment
from mediation.stats import rollups

YEAR = 2025
START, END = date(YEAR, 1, 1), date(YEAR, 12, 31)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


class Builder:
    """Writes rows with known values; ``done()`` recomputes first accompaniments and rollups."""

    def __init__(self, session, network):
        self.session = session
        self.n = network

    def person(self, structure=None, *, anonymous=False, **fields) -> Beneficiary:
        structure = structure or self.n.structure_a
        if anonymous:
            b = Beneficiary(owner_structure_id=structure.id, anonymous=True, **fields)
        else:
            b = Beneficiary(owner_structure_id=structure.id, anonymous=False, first_name=fields.pop("first_name", "Jeanne"),
                            last_name=fields.pop("last_name", "Test"), **fields)
        self.session.add(b)
        self.session.flush()
        return b

    def activity(self, day: date, people, *, structure=None, mediator=None, type=None, duration=60,
                 place=PlaceType.LIEU_ACTIVITE, themes=("email",), cases=None, **fields) -> Activity:
        structure = structure or self.n.structure_a
        mediator = mediator or self.n.mediator
        type = type or (ActivityType.INDIVIDUEL if len(people) == 1 else ActivityType.COLLECTIF)
        a = Activity(type=type, mediator_id=mediator.id, structure_id=structure.id, date=day, duration_min=duration,
                     place_type=place, place_structure_id=structure.id if place == PlaceType.LIEU_ACTIVITE else None,
                     place_commune_id=None if place == PlaceType.LIEU_ACTIVITE else structure.commune_id,
                     participants_count=len(people), created_by_id=mediator.id, **fields)
        self.session.add(a)
        self.session.flush()
        for code in themes:
            self.session.add(ActivityThematique(activity_id=a.id, code=code))
        for person in people:
            case_id = (cases or {}).get(person.id)
            self.session.add(Participation(activity_id=a.id, beneficiary_id=person.id, case_id=case_id,
                                           first_accompaniment=person.anonymous))
        self.session.flush()
        return a

    def case(self, person, structure=None, *, state=CaseState.OPEN, opened=None) -> Case:
        structure = structure or self.n.structure_a
        c = Case(beneficiary_id=person.id, structure_id=structure.id, mediator_id=self.n.mediator.id, state=state,
                 opened_at=at(opened or START))
        if state == CaseState.CLOSED:
            c.closed_at = at(opened or START)
            from mediation.cases.enums import ClosureReason

            c.closure_reason = ClosureReason.AUTONOMIE_ATTEINTE
        self.session.add(c)
        self.session.flush()
        return c

    def assessment(self, case, day: date, levels: list[int], comfort: int, structure=None,
                   moment=AssessmentMoment.ETAPE) -> Assessment:
        """``levels``: five domain levels from 1 (Avec guidage) to 3 (Autonome)."""
        values = {f"autonomy_{d.value}": list(Autonomie)[lv - 1] for d, lv in zip(AutonomyDomain, levels, strict=True)}
        a = Assessment(case_id=case.id, moment=moment, taken_at=at(day), taken_by_id=self.n.mediator.id,
                       structure_id=(structure or self.n.structure_a).id, equipment=[], comfort=comfort, needs=[],
                       accessibility=[], **values)
        self.session.add(a)
        self.session.flush()
        return a

    def follow_up(self, case, due: date, *, answered: date | None = None, status=None, **answers) -> FollowUp:
        status = status or (FollowUpStatus.REPONDU if answered else FollowUpStatus.A_FAIRE)
        f = FollowUp(case_id=case.id, beneficiary_id=case.beneficiary_id, structure_id=case.structure_id,
                     trigger=FollowUpTrigger.CLOTURE, triggered_at=at(due), due_on=due, status=status,
                     closed_at=at(answered) if answered else None,
                     channel="telephone" if status == FollowUpStatus.REPONDU else None, **answers)
        self.session.add(f)
        self.session.flush()
        return f

    def done(self) -> None:
        case_services.recompute_for(self.session, None)
        rollups.rebuild(self.session)


@pytest.fixture
def build(session, network):
    return Builder(session, network)


@pytest.fixture
def funder_setup(session, network, make_user):
    """Two funders; the network's funder account linked to the first; programme P1 covers
    structure A for the year, programme P2 (other funder) covers mediator B."""
    state = Funder(name="État — ANCT", kind=FunderKind.ETAT)
    metro = Funder(name="Métropole Test", kind=FunderKind.METROPOLE)
    session.add_all([state, metro])
    session.flush()
    p1 = Programme(funder_id=state.id, name="Conseillers numériques", starts_on=START, ends_on=END,
                   territory_id=network.territory.id)
    p1.structures = [network.structure_a]
    p2 = Programme(funder_id=metro.id, name="Inclusion métropole", starts_on=START, ends_on=END,
                   territory_id=network.territory.id)
    p2.mediators = [network.mediator_b]
    session.add_all([p1, p2])
    network.funder.funder_id = state.id
    session.flush()
    other_funder_user = make_user(Role.FUNDER, email="funder2@test.example", funder_id=metro.id)

    class Setup:
        pass

    s = Setup()
    s.state, s.metro, s.p1, s.p2, s.other_funder_user = state, metro, p1, p2, other_funder_user
    return s


@pytest.fixture
def scope_for(session, network):
    def make(user=None, **filters) -> Scope:
        user = user or network.admin
        values = {"start": START, "end": END, **filters}
        return Scope(session, user, authorise(session, user, EvaluationFilter(**values)))

    return make


__all__ = ["END", "START", "YEAR", "Builder", "Genre", "StatutSocial", "at"]
