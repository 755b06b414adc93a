"""Issuing for a whole workshop: the step observed during a collective workshop is validated for
each participant enrolled in the pathway (with the workshop as evidence) and their badges issued.
Runs as a job with a progress bar; the result holds counts only (no names)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.auth.models import User
from mediation.badges import services
from mediation.badges.models import Assertion
from mediation.cases.models import Activity, Case, Participation
from mediation.errors import DomainError, NotFound
from mediation.jobs import enqueue, register
from mediation.pathways import services as pathways_services
from mediation.pathways.enums import EnrolmentState, MilestoneKind
from mediation.pathways.models import Enrolment, Milestone, MilestoneValidation

JOB_KIND = "badges.workshop"


@dataclass(frozen=True)
class StepChoice:
    milestone_id: int
    label: str


def _key(milestone: Milestone) -> tuple:
    return (milestone.version.template_id, milestone.level.position if milestone.level else 0, milestone.title)


def _live_enrolments(session: Session, activity: Activity) -> list[Enrolment]:
    beneficiaries = sa.select(Participation.beneficiary_id).where(Participation.activity_id == activity.id)
    cases = sa.select(Case.id).where(Case.beneficiary_id.in_(beneficiaries), Case.state != "clos")
    return list(session.scalars(
        sa.select(Enrolment).where(Enrolment.case_id.in_(cases), Enrolment.state == EnrolmentState.EN_COURS)
        .options(joinedload(Enrolment.template), joinedload(Enrolment.version))))


def step_choices(session: Session, activity: Activity) -> list[StepChoice]:
    """Badge-awarding steps of the pathways the participants follow (one entry per step title)."""
    seen: dict[tuple, StepChoice] = {}
    for enrolment in _live_enrolments(session, activity):
        milestones = session.scalars(
            sa.select(Milestone).where(Milestone.version_id == enrolment.version_id,
                                       Milestone.kind == MilestoneKind.STEP, Milestone.awards_badge)
            .options(joinedload(Milestone.level), joinedload(Milestone.version))
            .order_by(Milestone.level_id, Milestone.position)).all()
        for m in milestones:
            key = _key(m)
            if key not in seen:
                seen[key] = StepChoice(m.id, f"{enrolment.template.name} — niveau {m.level.position} — {m.title}")
    return sorted(seen.values(), key=lambda c: c.label)


def start(session: Session, actor, activity: Activity, milestone_id: int | None, structure_id: int | None):
    """Enqueue the job (the choices are checked here, the work is done by :func:`run`)."""
    if not activity.is_workshop:
        raise DomainError("La délivrance groupée concerne les ateliers collectifs.")
    if milestone_id not in {c.milestone_id for c in step_choices(session, activity)}:
        raise DomainError("Choisissez une étape du parcours des participants.", field="milestone_id")
    count = session.scalar(sa.select(sa.func.count()).where(Participation.activity_id == activity.id))
    return enqueue(session, JOB_KIND, user=actor, structure_id=structure_id or activity.structure_id,
                   params={"activity_id": activity.id, "milestone_id": milestone_id,
                           "structure_id": structure_id or activity.structure_id}, total=count)


SKIP_LABELS = {
    "no_case": "sans dossier ouvert",
    "not_enrolled": "non inscrits à ce parcours",
    "no_step": "étape absente de leur version du parcours",
    "refused": "étape non validable (prérequis manquants ou dossier non partagé)",
    "no_badge": "badge déjà délivré",
}


@register(JOB_KIND)
def run(session: Session, job, progress) -> dict:
    actor = session.get(User, job.created_by_id)
    activity = session.get(Activity, job.params["activity_id"])
    reference = session.get(Milestone, job.params["milestone_id"])
    if actor is None or activity is None or reference is None:
        raise NotFound("L'atelier ou l'étape n'existe plus.")
    key = _key(reference)
    participations = session.scalars(sa.select(Participation).where(Participation.activity_id == activity.id)
                                     .order_by(Participation.id)).all()
    issued, validated, skipped = 0, 0, Counter()
    progress(0, len(participations))
    for done, participation in enumerate(participations, start=1):
        outcome = _one(session, actor, activity, participation.beneficiary_id, key, job.params.get("structure_id"))
        if isinstance(outcome, str):
            skipped[outcome] += 1
        else:
            validated += outcome[0]
            issued += outcome[1]
        progress(done)
    result = {"Participants": len(participations), "Étapes validées": validated, "Badges délivrés": issued}
    for reason, count in skipped.items():
        result[f"Ignorés : {SKIP_LABELS[reason]}"] = count
    return result


def _one(session: Session, actor, activity: Activity, beneficiary_id: int, key: tuple, structure_id):
    case = session.scalar(sa.select(Case).where(Case.beneficiary_id == beneficiary_id, Case.state != "clos"))
    if case is None:
        return "no_case"
    enrolment = session.scalar(sa.select(Enrolment).where(Enrolment.case_id == case.id,
                                                          Enrolment.template_id == key[0],
                                                          Enrolment.state == EnrolmentState.EN_COURS))
    if enrolment is None:
        return "not_enrolled"
    milestone = next((m for m in session.scalars(
        sa.select(Milestone).where(Milestone.version_id == enrolment.version_id, Milestone.kind == MilestoneKind.STEP)
        .options(joinedload(Milestone.level), joinedload(Milestone.version))) if _key(m) == key), None)
    if milestone is None:
        return "no_step"
    validation = session.scalar(sa.select(MilestoneValidation).where(
        MilestoneValidation.enrolment_id == enrolment.id, MilestoneValidation.milestone_id == milestone.id))
    before = session.scalar(sa.select(sa.func.count(Assertion.id)).where(Assertion.beneficiary_id == beneficiary_id))
    newly = 0
    if validation is None:
        try:
            with session.begin_nested():
                validation = pathways_services.validate_milestone(
                    session, actor, enrolment, pathways_services.ValidationInput(
                        milestone_id=milestone.id, structure_id=structure_id, activity_id=activity.id))
        except DomainError:
            return "refused"
        newly = 1
    elif session.scalar(sa.select(Assertion.id).where(Assertion.validation_id == validation.id).limit(1)):
        return "no_badge"
    # Whatever automatic issuing did not do (templates issuing by hand): the step and what it completed.
    services.issue_for_validation(session, actor, validation, force=True)
    after = session.scalar(sa.select(sa.func.count(Assertion.id)).where(Assertion.beneficiary_id == beneficiary_id))
    return newly, after - before
