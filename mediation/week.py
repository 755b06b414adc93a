"""« Ma semaine »: what a mediator or a coordinator needs first when they sign in, computed without
the request (the home page renders it; tests call it directly).

- Mediator: their own figures today, this week (from Monday) and this month — activities, people
  accompanied, time spent —, their latest sessions (to duplicate or log another for the same person),
  the referrals their structures received and have not answered, the follow-up calls due.
- Coordinator (and administrator): the territory's week — referrals not honoured or waiting for an
  answer, cases in pause, structures with no activity since Monday.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from mediation.auth.models import Role, User
from mediation.cases import policy as case_policy
from mediation.cases.enums import CaseState
from mediation.cases.models import Activity, Case, Participation
from mediation.directory.models import Structure
from mediation.directory.scopes import structure_scope
from mediation.evaluation.models import FollowUp
from mediation.evaluation.services import due_follow_ups
from mediation.pathways import referrals
from mediation.pathways.enums import ReferralStatus
from mediation.pathways.models import Referral
from mediation.pathways.policy import visible_referrals
from mediation.types import LOCAL_TIMEZONE, local_today

RECENT = 5


@dataclass
class Figures:
    label: str
    activities: int = 0
    accompaniments: int = 0
    people: int = 0
    minutes: int = 0


@dataclass
class MediatorWeek:
    kind = "mediator"
    today: date
    figures: list[Figures]
    recent: list[Activity]
    referrals_received: list[Referral]
    referrals_received_count: int
    follow_ups: list[FollowUp]
    follow_ups_count: int


@dataclass
class TerritoryWeek:
    kind = "territory"
    today: date
    week_start: date
    referrals_waiting: list[Referral]
    referrals_waiting_count: int
    referrals_not_honoured_count: int
    cases_paused_count: int
    quiet_structures: list = field(default_factory=list)  # the first QUIET_LISTED (id, name), by name
    structures_count: int = 0
    quiet_structures_count: int = 0


QUIET_LISTED = 60  # structures without activity named on the page: a national network has thousands


def week_start(today: date) -> date:
    return today - timedelta(days=today.weekday())


def mediator_week(session: Session, user: User, today: date | None = None) -> MediatorWeek:
    today = today or local_today()
    monday, first = week_start(today), today.replace(day=1)
    windows = [Figures("Aujourd'hui"), Figures("Semaine"), Figures("Mois")]
    starts = [today, monday, first]
    rows = session.execute(
        sa.select(Activity.id, Activity.date, Activity.duration_min, Participation.beneficiary_id)
        .outerjoin(Participation, Participation.activity_id == Activity.id)
        .where(Activity.mediator_id == user.id, Activity.deleted_at.is_(None),
               Activity.date >= min(monday, first), Activity.date <= today)
    ).all()
    for figures, start in zip(windows, starts, strict=True):
        inside = [row for row in rows if row.date >= start]
        activities = {row.id: row.duration_min for row in inside}
        figures.activities = len(activities)
        figures.minutes = sum(activities.values())
        figures.accompaniments = sum(1 for row in inside if row.beneficiary_id is not None)
        figures.people = len({row.beneficiary_id for row in inside if row.beneficiary_id is not None})
    recent = list(session.scalars(
        sa.select(Activity).where(Activity.mediator_id == user.id, Activity.deleted_at.is_(None))
        .options(selectinload(Activity.participations).joinedload(Participation.beneficiary),
                 selectinload(Activity.thematique_rows))
        .order_by(Activity.date.desc(), Activity.id.desc()).limit(RECENT)))
    received = referrals.listing(user, direction="recues", status=ReferralStatus.PROPOSEE.value)
    follow_ups = due_follow_ups(user, today=today).options(selectinload(FollowUp.case))
    return MediatorWeek(
        today=today, figures=windows, recent=recent,
        referrals_received=list(session.scalars(received.limit(RECENT)).unique()),
        referrals_received_count=_count(session, received),
        follow_ups=list(session.scalars(follow_ups.limit(RECENT))),
        follow_ups_count=_count(session, follow_ups),
    )


def territory_week(session: Session, user: User, today: date | None = None) -> TerritoryWeek:
    today = today or local_today()
    monday = week_start(today)
    scope = structure_scope(user)
    in_scope = (lambda column: column.in_(scope)) if scope is not None else (lambda column: sa.true())
    waiting = (visible_referrals(user).where(Referral.status == ReferralStatus.PROPOSEE)
               .options(joinedload(Referral.from_structure), joinedload(Referral.to_structure))
               .order_by(Referral.created_at, Referral.id))
    not_honoured = visible_referrals(user).where(Referral.status == ReferralStatus.NON_HONOREE,
                                                     Referral.closed_at >= _midnight(monday))
    paused = case_policy.visible_cases(user).where(Case.state == CaseState.PAUSED)
    active_ids = sa.select(Activity.structure_id).where(
        Activity.deleted_at.is_(None), Activity.date >= monday, Activity.date <= today)
    structures = sa.select(Structure).where(Structure.archived_at.is_(None), in_scope(Structure.id))
    quiet = structures.where(Structure.id.not_in(active_ids)).order_by(Structure.name, Structure.id)
    return TerritoryWeek(
        today=today, week_start=monday,
        referrals_waiting=list(session.scalars(waiting.limit(RECENT)).unique()),
        referrals_waiting_count=_count(session, waiting),
        referrals_not_honoured_count=_count(session, not_honoured),
        cases_paused_count=_count(session, paused),
        quiet_structures=session.execute(quiet.with_only_columns(Structure.id, Structure.name)
                                         .limit(QUIET_LISTED)).all(),
        quiet_structures_count=_count(session, quiet),
        structures_count=_count(session, structures),
    )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TIMEZONE)


def _count(session: Session, query: sa.Select) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(
        query.order_by(None).options().with_only_columns(sa.literal_column("1")).subquery())) or 0


def for_user(session: Session, user: User):
    """The week to show on ``user``'s home page, or None for roles without one."""
    if user.role == Role.MEDIATOR:
        return mediator_week(session, user)
    if user.role in (Role.COORDINATOR, Role.ADMIN):
        return territory_week(session, user)
    return None
