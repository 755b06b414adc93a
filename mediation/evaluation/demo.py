"""Demo data for impact evaluation: two funders with a programme each over the demo year — the
State's conseillers numériques programme (covering the conseillers numériques, plus a few
workshops attributed explicitly) and the métropole's inclusion programme (covering every structure
of the métropole) — ``financeur@demo.test`` linked to the métropole; diagnoses taken again for
part of the people followed (first vs latest), follow-ups scheduled and partly answered, the
statistics rollups rebuilt, and one impact report ready to download for the funder.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role
from mediation.cases.enums import ActivityType, Autonomie, CaseState
from mediation.cases.models import Activity, Case, Participation
from mediation.evaluation import services
from mediation.evaluation.models import (
    FollowUp,
    FollowUpChannel,
    FollowUpStatus,
    Funder,
    FunderKind,
    Programme,
    programme_activities,
)
from mediation.pathways.enums import AssessmentMoment, AutonomyDomain
from mediation.pathways.models import Assessment
from mediation.types import local_today, utcnow

LEVELS = list(Autonomie)


def _at(day: date, rng: random.Random) -> datetime:
    return datetime.combine(day, time(9 + rng.randint(0, 7), rng.randint(0, 59)), tzinfo=UTC)


def _assessments(session: Session, rng: random.Random, today: date) -> int:
    """A first and a later diagnosis for people followed over the year who have none yet."""
    assessed = sa.select(Assessment.case_id)
    rows = list(session.execute(
        sa.select(Case.id, Case.structure_id, Case.mediator_id, sa.func.min(Activity.date), sa.func.max(Activity.date),
                  sa.func.count(Participation.id))
        .join(Participation, Participation.case_id == Case.id)
        .join(Activity, Activity.id == Participation.activity_id)
        .where(Activity.deleted_at.is_(None), Case.id.not_in(assessed))
        .group_by(Case.id, Case.structure_id, Case.mediator_id)
        .having(sa.func.count(Participation.id) >= 2).order_by(Case.id)))
    inserts = []
    for case_id, structure_id, mediator_id, first_day, last_day, visits in rows:
        if rng.random() > 0.7:
            continue
        start = rng.choice([0, 0, 0, 1])
        base = {"case_id": case_id, "structure_id": structure_id, "taken_by_id": mediator_id, "equipment": [],
                "needs": [], "accessibility": [], "language_support": False}
        levels = [max(0, min(2, start + rng.choice([-1, 0, 0, 1]))) for _ in AutonomyDomain]
        comfort = 1 + start + rng.randint(0, 1)
        inserts.append({**base, "moment": AssessmentMoment.INITIAL, "taken_at": _at(first_day, rng), "comfort": comfort,
                        **{f"autonomy_{d.value}": LEVELS[lv] for d, lv in zip(AutonomyDomain, levels, strict=True)}})
        if last_day > first_day and rng.random() < 0.8:
            gain = min(visits, 4)
            later = [min(2, lv + (1 if rng.random() < 0.1 * gain else 0)) for lv in levels]
            if rng.random() < 0.08:
                later = [max(0, lv - 1) for lv in later]
            inserts.append({**base, "moment": AssessmentMoment.ETAPE, "taken_at": _at(last_day, rng),
                            "comfort": max(1, min(5, comfort + rng.choice([0, 1, 1, 2, -1]))),
                            **{f"autonomy_{d.value}": LEVELS[lv] for d, lv in zip(AutonomyDomain, later, strict=True)}})
    if inserts:
        session.execute(sa.insert(Assessment), inserts)
    return len(inserts)


def _answer_follow_ups(session: Session, rng: random.Random, today: date) -> int:
    """About two thirds of the follow-ups already due get answers (phone or wallet), some nobody."""
    answered = 0
    for follow_up in session.scalars(sa.select(FollowUp).where(FollowUp.due_on <= today,
                                                               FollowUp.status == FollowUpStatus.A_FAIRE)):
        draw = rng.random()
        closed = datetime.combine(min(today, follow_up.due_on + timedelta(days=rng.randint(0, 12))), time(11),
                                  tzinfo=UTC)
        if draw < 0.65:
            follow_up.status = FollowUpStatus.REPONDU
            follow_up.channel = FollowUpChannel.TELEPHONE if rng.random() < 0.8 else FollowUpChannel.PORTEFEUILLE
            follow_up.online_alone = rng.random() < 0.62
            follow_up.less_isolated = rng.random() < 0.55
            follow_up.job_or_training = rng.random() < 0.3  # counted for job seekers only
            follow_up.comfort_now = rng.choice([2, 3, 3, 4, 4, 5])
            answered += 1
        elif draw < 0.85:
            follow_up.status = FollowUpStatus.INJOIGNABLE
        else:
            continue
        follow_up.closed_at = closed
    session.flush()
    return answered


def load_evaluation_demo(session: Session, *, territory, structures, users, today: date | None = None,
                         seed: int = 2028) -> dict:
    rng = random.Random(seed)  # noqa: S311 - demo data
    today = today or local_today()
    end = today - timedelta(days=1)
    start = end - timedelta(days=364)
    by_email = {u.email: u for u in users}
    admin = next(u for u in users if u.role == Role.ADMIN)

    state = services.create_funder(session, admin, "État — Agence nationale de la cohésion des territoires",
                                   FunderKind.ETAT.value)
    metro = services.create_funder(session, admin, "Métropole Rouen Normandie", FunderKind.METROPOLE.value)
    conseillers = [u for u in users if u.role == Role.MEDIATOR and u.is_conseiller_numerique]
    cnfs = services.save_programme(session, admin, services.ProgrammeInput(
        funder_id=state.id, name="Conseillers numériques France Services", starts_on=start, ends_on=end,
        territory_id=territory.id, mediator_ids=[u.id for u in conseillers],
        description="Postes de conseillers numériques financés par l'État dans la métropole."))
    inclusion = services.save_programme(session, admin, services.ProgrammeInput(
        funder_id=metro.id, name="Inclusion numérique métropolitaine", starts_on=start, ends_on=end,
        territory_id=territory.id, structure_ids=[s.id for s in structures],
        description="Convention de la métropole avec les lieux de médiation numérique de son territoire."))
    # A few workshops of mediators who are not conseillers, attributed explicitly to the State's programme.
    others = [u.id for u in users if u.role == Role.MEDIATOR and not u.is_conseiller_numerique]
    workshops = list(session.scalars(
        sa.select(Activity.id).where(Activity.mediator_id.in_(others), Activity.type == ActivityType.COLLECTIF,
                                     Activity.deleted_at.is_(None), Activity.date >= start, Activity.date <= end)
        .order_by(Activity.id).limit(6)))
    if workshops:
        session.execute(programme_activities.insert(), [
            {"programme_id": cnfs.id, "activity_id": a, "attributed_by_id": admin.id, "attributed_at": utcnow()}
            for a in workshops])
    funder_account = by_email.get("financeur@demo.test") or next((u for u in users if u.role == Role.FUNDER), None)
    if funder_account is not None:
        services.link_funder_account(session, admin, metro, funder_account)
        funder_account.organisation = metro.name

    diagnoses = _assessments(session, rng, today)
    # Follow-ups: one per closed case or completed pathway, due 90 days later.
    scheduled = services.schedule_follow_ups(session, today=today, delay_days=90)
    answered = _answer_follow_ups(session, rng, today)
    session.flush()

    from mediation.stats import rollups

    rollups.rebuild(session)
    report = None
    if funder_account is not None:
        from mediation.evaluation import report as reports
        from mediation.evaluation.models import ReportFormat
        from mediation.evaluation.scope import EvaluationFilter

        content, filename, scope = reports.build(session, funder_account, EvaluationFilter(
            start=start, end=end, programme_id=inclusion.id), ReportFormat.PDF)
        report = reports.store(session, funder_account, content, filename, scope, ReportFormat.PDF)
    return {"funders": 2, "programmes": 2, "attributed": len(workshops), "diagnoses": diagnoses,
            "follow_ups": scheduled, "answered": answered, "report": report.id if report else None,
            "closed_cases": session.scalar(sa.select(sa.func.count(Case.id)).where(Case.state == CaseState.CLOSED)),
            "funder_check": session.scalar(sa.select(sa.func.count(Funder.id))),
            "programme_check": session.scalar(sa.select(sa.func.count(Programme.id)))}
