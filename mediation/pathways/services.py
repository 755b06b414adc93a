"""Enrolment, milestone validation, progress and diagnosis (assessments).

Rules (docs/domain/pathways.md):
- a case enrols in the latest version of a template of its territory (or a national one), once
  per template at a time;
- a step is validated by a mediator of a structure allowed to see the case (the holding one, or
  any structure of the territory of a live *network* consent), with evidence: an activity of the
  person, a narrative, optionally a Pix score; its prerequisites must all be validated — checked
  here, whatever the user interface shows;
- a level is reached when all its steps are; the pathway when all its levels are (both recorded as
  automatic validations, so badges can hang off them);
- the diagnosis grid is the same at enrolment, at milestones and at the end: progress is read as
  first vs latest on the same scale.

Services flush, never commit; each change writes an audit event on the case (``case.*``, shown on
its timeline) with ids only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from mediation.audit.services import record
from mediation.cases.enums import THEMATIQUE_CODES, Autonomie, Thematique
from mediation.cases.models import Activity, Case, Participation
from mediation.directory.national_schema import PRISE_EN_CHARGE
from mediation.errors import Conflict, DomainError, NotFound, ValidationFailed
from mediation.pathways import policy, signals
from mediation.pathways.enums import (
    AssessmentMoment,
    AutonomyDomain,
    EnrolmentState,
    Equipment,
    MilestoneKind,
)
from mediation.pathways.models import (
    Assessment,
    Enrolment,
    Milestone,
    MilestoneValidation,
    PathwayLevel,
    PathwayTemplate,
    PathwayVersion,
)
from mediation.pathways.versions import load_version
from mediation.types import utcnow


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _check_case(session: Session, actor, case: Case) -> None:
    """The actor must be allowed to act on the person's pathway, and the case still open."""
    if not policy.can_act_on_pathway(actor) or policy.get_case(session, actor, case.id) is None:
        raise NotFound("Dossier introuvable.")
    if case.is_closed:
        raise DomainError("Ce dossier est clos : rouvrez-le pour continuer le parcours.")


def _acting_structure(session: Session, actor, structure_id: int | None) -> int:
    structures = [s.id for s in policy.acting_structures(session, actor)]
    if structure_id is None and len(structures) == 1:
        return structures[0]
    if structure_id not in structures:
        raise ValidationFailed("Veuillez choisir la structure pour laquelle vous intervenez", field="structure_id")
    return structure_id


# --- enrolment ----------------------------------------------------------------------------------

def enrol(session: Session, actor, case: Case, template: PathwayTemplate, *,
          structure_id: int | None = None) -> Enrolment:
    """Enrol ``case`` in the latest version of ``template``.

    Raises NotFound (case out of scope), DomainError (closed case, archived or foreign template),
    Conflict (already following this pathway).
    """
    _check_case(session, actor, case)
    structure_id = _acting_structure(session, actor, structure_id)
    if template.archived_at is not None:
        raise DomainError("Ce parcours est archivé : il n'accepte plus d'inscription.")
    if template not in policy.templates_for_case(session, case):
        raise DomainError("Ce parcours n'est pas proposé sur le territoire de ce dossier.")
    live = session.scalar(sa.select(Enrolment.id).where(Enrolment.case_id == case.id,
                                                        Enrolment.template_id == template.id,
                                                        Enrolment.state == EnrolmentState.EN_COURS))
    if live:
        raise Conflict("Cette personne suit déjà ce parcours.")
    version = template.current_version
    if not any(m.kind == MilestoneKind.STEP for m in version.milestones):
        raise DomainError("Ce parcours n'a encore aucune étape : complétez-le avant d'y inscrire quelqu'un.")
    enrolment = Enrolment(case_id=case.id, template_id=template.id, version_id=version.id,
                          structure_id=structure_id, enrolled_by_id=actor.id)
    session.add(enrolment)
    session.flush()
    record(session, "case.pathway_enrolled", actor=actor, obj=case, structure_id=structure_id,
           details={"enrolment_id": enrolment.id, "template_id": template.id, "version": version.number})
    return enrolment


def enrolments_of(session: Session, case: Case) -> list[Enrolment]:
    return list(session.scalars(
        sa.select(Enrolment).where(Enrolment.case_id == case.id)
        .options(joinedload(Enrolment.template), joinedload(Enrolment.version), joinedload(Enrolment.structure))
        .order_by(Enrolment.state != EnrolmentState.EN_COURS, Enrolment.enrolled_at.desc())))


# --- progress -----------------------------------------------------------------------------------

@dataclass
class StepState:
    milestone: Milestone
    validation: MilestoneValidation | None
    missing: list[Milestone] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return self.validation is not None

    @property
    def available(self) -> bool:
        return not self.done and not self.missing


@dataclass
class LevelState:
    level: PathwayLevel
    steps: list[StepState]
    completion: StepState | None

    @property
    def done(self) -> bool:
        return self.completion is not None and self.completion.done

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s.done)


@dataclass
class Progress:
    enrolment: Enrolment
    version: PathwayVersion
    levels: list[LevelState]
    completion: StepState | None
    validations: list[MilestoneValidation]

    @property
    def steps(self) -> list[StepState]:
        return [s for level in self.levels for s in level.steps]

    @property
    def done_steps(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def total_steps(self) -> int:
        return len(self.steps)

    @property
    def percent(self) -> int:
        return round(100 * self.done_steps / self.total_steps) if self.total_steps else 0

    @property
    def levels_done(self) -> int:
        return sum(1 for level in self.levels if level.done)

    @property
    def completed(self) -> bool:
        return self.completion is not None and self.completion.done

    @property
    def next_step(self) -> StepState | None:
        """The recommended next step: the first one (in level order) whose prerequisites are met."""
        return next((s for s in self.steps if s.available), None)

    @property
    def blocked(self) -> list[StepState]:
        return [s for s in self.steps if not s.done and s.missing]

    def state_of(self, milestone_id: int) -> StepState | None:
        for level in self.levels:
            for s in [*level.steps, level.completion]:
                if s is not None and s.milestone.id == milestone_id:
                    return s
        if self.completion is not None and self.completion.milestone.id == milestone_id:
            return self.completion
        return None


def _validations(session: Session, enrolment: Enrolment) -> list[MilestoneValidation]:
    return list(session.scalars(
        sa.select(MilestoneValidation).where(MilestoneValidation.enrolment_id == enrolment.id)
        .options(joinedload(MilestoneValidation.validated_by), joinedload(MilestoneValidation.structure),
                 joinedload(MilestoneValidation.activity))
        .order_by(MilestoneValidation.validated_at, MilestoneValidation.id)))


def compute_progress(session: Session, enrolment: Enrolment) -> Progress:
    """Where the person stands in their version: steps done, available or blocked (with the missing
    prerequisites), levels reached, the pathway's completion and the next recommended step."""
    version = load_version(session, enrolment.version_id)
    validations = _validations(session, enrolment)
    done = {v.milestone_id: v for v in validations}

    def state(m: Milestone) -> StepState:
        missing = [r for r in m.prerequisites if r.id not in done] if m.kind == MilestoneKind.STEP else []
        return StepState(m, done.get(m.id), missing)

    levels = []
    for level in version.levels:
        milestones = [m for m in version.milestones if m.level_id == level.id]
        steps = [state(m) for m in milestones if m.kind == MilestoneKind.STEP]
        completion = next((state(m) for m in milestones if m.kind == MilestoneKind.LEVEL), None)
        levels.append(LevelState(level, steps, completion))
    final = next((m for m in version.milestones if m.kind == MilestoneKind.PATHWAY), None)
    return Progress(enrolment, version, levels, state(final) if final else None, validations)


# --- validation ---------------------------------------------------------------------------------

@dataclass
class ValidationInput:
    milestone_id: int | None = None
    structure_id: int | None = None
    activity_id: int | None = None
    narrative: str | None = None
    pix_score: int | None = None


def person_activities(session: Session, case: Case, limit: int = 60) -> list[Activity]:
    """The person's activities (any structure, not deleted), newest first: evidence to choose from."""
    return list(session.scalars(
        sa.select(Activity).join(Participation, Participation.activity_id == Activity.id)
        .where(Participation.beneficiary_id == case.beneficiary_id, Activity.deleted_at.is_(None))
        .options(joinedload(Activity.structure))
        .order_by(Activity.date.desc(), Activity.id.desc()).limit(limit)))


def _missing_message(milestone: Milestone, missing: list[Milestone]) -> str:
    names = ", ".join(f"« {m.title} »" for m in missing)
    first = "il faut d'abord valider" if len(missing) == 1 else "il faut d'abord valider les étapes"
    return f"L'étape « {milestone.title} » ne peut pas encore être validée : {first} {names}."


def validate_milestone(session: Session, actor, enrolment: Enrolment, data: ValidationInput) -> MilestoneValidation:
    """Validate a step for the person, with evidence; completes the level and the pathway when it
    was their last step.

    Raises NotFound (case not shared with the actor's structures), DomainError (pathway over,
    completion milestone, already validated, prerequisites missing — the message names them),
    ValidationFailed (evidence: activity not the person's, no activity nor narrative, Pix score).
    """
    case = enrolment.case
    _check_case(session, actor, case)
    if enrolment.state != EnrolmentState.EN_COURS:
        raise DomainError("Ce parcours n'est plus en cours : aucune étape ne peut être validée.")
    progress = compute_progress(session, enrolment)
    step = progress.state_of(int(data.milestone_id)) if data.milestone_id else None
    if step is None:
        raise NotFound("Cette étape ne fait pas partie du parcours de la personne.")
    milestone = step.milestone
    if milestone.kind != MilestoneKind.STEP:
        raise DomainError("Un niveau ou le parcours est atteint automatiquement quand toutes ses étapes sont "
                          "validées.")
    if step.done:
        raise Conflict(f"L'étape « {milestone.title} » est déjà validée.")
    if step.missing:
        raise DomainError(_missing_message(milestone, step.missing), field="milestone_id")

    errors: dict[str, str] = {}
    structure_id = None
    try:
        structure_id = _acting_structure(session, actor, data.structure_id)
    except ValidationFailed as error:
        errors["structure_id"] = error.message
    narrative = _clean(data.narrative)
    if narrative and len(narrative) > 2000:
        errors["narrative"] = "2 000 caractères au maximum"
    activity_id = data.activity_id or None
    if activity_id is not None:
        owned = session.scalar(
            sa.select(Activity.id).join(Participation, Participation.activity_id == Activity.id)
            .where(Activity.id == activity_id, Activity.deleted_at.is_(None),
                   Participation.beneficiary_id == case.beneficiary_id))
        if owned is None:
            errors["activity_id"] = "Cette activité n'est pas une activité de la personne"
    if activity_id is None and not narrative:
        errors["narrative"] = ("Indiquez l'activité où l'étape a été observée ou décrivez en quelques mots ce que "
                               "la personne a réalisé")
    if data.pix_score is not None and not 0 <= data.pix_score <= 1024:
        errors["pix_score"] = "Le score Pix va de 0 à 1 024 pix"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)

    now = utcnow()
    validation = MilestoneValidation(enrolment_id=enrolment.id, milestone_id=milestone.id, validated_at=now,
                                     validated_by_id=actor.id, structure_id=structure_id, activity_id=activity_id,
                                     narrative=narrative, pix_score=data.pix_score)
    session.add(validation)
    session.flush()
    record(session, "case.milestone_validated", actor=actor, obj=case, structure_id=structure_id,
           details={"enrolment_id": enrolment.id, "milestone_id": milestone.id, "validation_id": validation.id,
                    "activity_id": activity_id})
    _complete(session, actor, enrolment, structure_id, now)
    signals.milestone_validated.send(session, actor=actor, validation=validation)  # badges are issued
    return validation


def _complete(session: Session, actor, enrolment: Enrolment, structure_id: int, now) -> None:
    """Record the levels (and the pathway) that the last validation completed."""
    progress = compute_progress(session, enrolment)
    done = {v.milestone_id for v in progress.validations}
    for level in progress.levels:
        completion = level.completion
        if completion and completion.milestone.id not in done and all(s.done for s in level.steps):
            _automatic(session, actor, enrolment, completion.milestone, structure_id, now)
            done.add(completion.milestone.id)
    final = progress.completion
    if final and final.milestone.id not in done and all(
            level.completion is None or level.completion.milestone.id in done for level in progress.levels):
        _automatic(session, actor, enrolment, progress.completion.milestone, structure_id, now)
        enrolment.state = EnrolmentState.TERMINE
        enrolment.completed_at = now
        session.flush()
        record(session, "case.pathway_completed", actor=actor, obj=enrolment.case, structure_id=structure_id,
               details={"enrolment_id": enrolment.id})


def _automatic(session: Session, actor, enrolment: Enrolment, milestone: Milestone, structure_id: int, now) -> None:
    session.add(MilestoneValidation(enrolment_id=enrolment.id, milestone_id=milestone.id, validated_at=now,
                                    validated_by_id=actor.id, structure_id=structure_id, automatic=True))
    session.flush()
    if milestone.kind == MilestoneKind.LEVEL:
        record(session, "case.level_reached", actor=actor, obj=enrolment.case, structure_id=structure_id,
               details={"enrolment_id": enrolment.id, "milestone_id": milestone.id})


def abandon(session: Session, actor, enrolment: Enrolment) -> Enrolment:
    """Stop following a pathway (progress stays, read-only)."""
    _check_case(session, actor, enrolment.case)
    if enrolment.state != EnrolmentState.EN_COURS:
        raise DomainError("Ce parcours n'est plus en cours.")
    enrolment.state = EnrolmentState.ABANDONNE
    session.flush()
    record(session, "case.pathway_abandoned", actor=actor, obj=enrolment.case, structure_id=enrolment.structure_id,
           details={"enrolment_id": enrolment.id})
    return enrolment


# --- diagnosis ----------------------------------------------------------------------------------

@dataclass
class AssessmentInput:
    moment: str | None = None
    structure_id: int | None = None
    equipment: list[str] = field(default_factory=list)
    autonomy: dict[str, str | None] = field(default_factory=dict)
    comfort: int | None = None
    needs: list[str] = field(default_factory=list)
    language: str | None = None
    language_support: bool = False
    accessibility: list[str] = field(default_factory=list)


def assessments_of(session: Session, case: Case) -> list[Assessment]:
    """The case's diagnoses, oldest first."""
    return list(session.scalars(
        sa.select(Assessment).where(Assessment.case_id == case.id)
        .options(joinedload(Assessment.taken_by), joinedload(Assessment.structure))
        .order_by(Assessment.taken_at, Assessment.id)))


def default_moment(session: Session, case: Case) -> AssessmentMoment:
    """Initial for the first diagnosis, final once a pathway is completed, else a milestone check."""
    if not session.scalar(sa.select(Assessment.id).where(Assessment.case_id == case.id).limit(1)):
        return AssessmentMoment.INITIAL
    completed = session.scalar(sa.select(Enrolment.id).where(Enrolment.case_id == case.id,
                                                             Enrolment.state == EnrolmentState.TERMINE).limit(1))
    return AssessmentMoment.FINAL if completed else AssessmentMoment.ETAPE


def record_assessment(session: Session, actor, case: Case, data: AssessmentInput) -> Assessment:
    """Take the diagnosis grid. Every domain's autonomy and the comfort are required; all errors
    are reported at once (ValidationFailed), nothing is written then."""
    _check_case(session, actor, case)
    errors: dict[str, str] = {}
    structure_id = None
    try:
        structure_id = _acting_structure(session, actor, data.structure_id)
    except ValidationFailed as error:
        errors["structure_id"] = error.message
    try:
        moment = AssessmentMoment(data.moment) if data.moment else default_moment(session, case)
    except ValueError:
        errors["moment"] = "Moment inconnu"
        moment = None
    equipment = list(dict.fromkeys(data.equipment or []))
    if any(e not in {m.value for m in Equipment} for e in equipment):
        errors["equipment"] = "Équipement inconnu"
    autonomy = {}
    for domain in AutonomyDomain:
        value = (data.autonomy or {}).get(domain.value)
        if not value:
            errors[f"autonomy_{domain.value}"] = "Veuillez indiquer le niveau d'autonomie dans ce domaine"
            continue
        try:
            autonomy[f"autonomy_{domain.value}"] = Autonomie(value)
        except ValueError:
            errors[f"autonomy_{domain.value}"] = "Niveau d'autonomie inconnu"
    if data.comfort is None:
        errors["comfort"] = "Veuillez indiquer l'aisance ressentie par la personne (de 1 à 5)"
    elif not 1 <= data.comfort <= 5:
        errors["comfort"] = "L'aisance se note de 1 à 5"
    needs = list(dict.fromkeys(data.needs or []))
    if any(n not in THEMATIQUE_CODES for n in needs):
        errors["needs"] = "Besoin inconnu (thématiques nationales)"
    accessibility = list(dict.fromkeys(data.accessibility or []))
    if any(a not in PRISE_EN_CHARGE for a in accessibility):
        errors["accessibility"] = "Besoin d'accessibilité inconnu"
    language = _clean(data.language)
    if language and len(language) > 100:
        errors["language"] = "100 caractères au maximum"
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    live = session.scalar(sa.select(Enrolment.id).where(Enrolment.case_id == case.id)
                          .order_by(Enrolment.state != EnrolmentState.EN_COURS, Enrolment.enrolled_at.desc())
                          .limit(1))
    assessment = Assessment(case_id=case.id, enrolment_id=live, moment=moment, taken_by_id=actor.id,
                            structure_id=structure_id, equipment=equipment, comfort=data.comfort, needs=needs,
                            language=language, language_support=bool(data.language_support),
                            accessibility=accessibility, **autonomy)
    session.add(assessment)
    session.flush()
    record(session, "case.assessed", actor=actor, obj=case, structure_id=structure_id,
           details={"assessment_id": assessment.id, "moment": moment.value})
    return assessment


@dataclass
class DomainChange:
    domain: AutonomyDomain
    first: Autonomie | None
    latest: Autonomie | None

    @property
    def delta(self) -> int:
        if self.first is None or self.latest is None:
            return 0
        return self.latest.stars - self.first.stars


@dataclass
class Comparison:
    """First vs latest diagnosis on the same scale."""

    first: Assessment
    latest: Assessment
    domains: list[DomainChange]

    @property
    def same(self) -> bool:
        return self.first.id == self.latest.id

    @property
    def comfort_delta(self) -> int:
        return self.latest.comfort - self.first.comfort

    @property
    def domains_improved(self) -> int:
        return sum(1 for d in self.domains if d.delta > 0)

    @property
    def equipment_gained(self) -> list[str]:
        return [Equipment.label_of(e) for e in self.latest.equipment if e not in self.first.equipment]


def compare(assessments: list[Assessment]) -> Comparison | None:
    if not assessments:
        return None
    first, latest = assessments[0], assessments[-1]
    return Comparison(first, latest, [DomainChange(d, first.autonomy(d), latest.autonomy(d)) for d in AutonomyDomain])


def need_labels(codes: list[str]) -> list[str]:
    return [Thematique.label_of(c) for c in codes]


def progress_summaries(session: Session, case_ids) -> dict[int, str]:
    """For lists that show a case without the person's name: where each case is on its live
    pathways, in one query for the whole page (« « Premiers pas » : niveau 2 atteint »)."""
    case_ids = list(case_ids)
    if not case_ids:
        return {}
    level_done = sa.and_(Milestone.id == MilestoneValidation.milestone_id, Milestone.kind == MilestoneKind.LEVEL)
    rows = session.execute(
        sa.select(Enrolment.case_id, PathwayTemplate.name, sa.func.max(PathwayLevel.position))
        .join(PathwayTemplate, PathwayTemplate.id == Enrolment.template_id)
        .outerjoin(MilestoneValidation, MilestoneValidation.enrolment_id == Enrolment.id)
        .outerjoin(Milestone, level_done)
        .outerjoin(PathwayLevel, PathwayLevel.id == Milestone.level_id)
        .where(Enrolment.case_id.in_(case_ids), Enrolment.state == EnrolmentState.EN_COURS)
        .group_by(Enrolment.case_id, PathwayTemplate.name)
        .order_by(Enrolment.case_id, PathwayTemplate.name)
    ).all()
    summaries: dict[int, list[str]] = {}
    for case_id, name, level in rows:
        where = f"niveau {level} atteint" if level else "aucun niveau atteint"
        summaries.setdefault(case_id, []).append(f"« {name} » : {where}")
    return {case_id: " ; ".join(parts) for case_id, parts in summaries.items()}
