"""Designing pathway templates: levels, milestones, prerequisites, Pix/DigComp alignments.

Versioning rule: a version that has enrolments is frozen. Any edit of the template then goes to a
new version (a deep copy of the current one, numbered next) and applies there; people already
enrolled keep their version, new enrolments take the latest. A version without enrolments is
edited in place. Every change is audited (``pathway.*``), ids and field names only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from mediation.audit.services import record
from mediation.directory.national_schema import SERVICES
from mediation.errors import DomainError, NotFound, ValidationFailed
from mediation.pathways.enums import DIGCOMP, FRAMEWORKS, PIX, MilestoneKind
from mediation.pathways.models import (
    Enrolment,
    Milestone,
    MilestoneAlignment,
    PathwayLevel,
    PathwayTemplate,
    PathwayVersion,
    milestone_prerequisites,
)
from mediation.types import utcnow

PATHWAY_COMPLETION_TITLE = "Autonomie numérique"


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


# --- inputs -------------------------------------------------------------------------------------

@dataclass
class Alignment:
    framework: str
    code: str
    level: int | None = None


@dataclass
class MilestoneInput:
    title: str | None = None
    criteria: str | None = None
    service: str | None = None
    awards_badge: bool = True
    prerequisite_ids: list[int] = field(default_factory=list)
    alignments: list[Alignment] = field(default_factory=list)


def parse_alignments(codes: list[str], levels: dict[str, int | None] | None = None) -> list[Alignment]:
    """``["pix:2.1", "digcomp:2.1"]`` (+ a level per framework) → alignments; unknown ones are kept
    for the validation to refuse them with a message."""
    levels = levels or {}
    result = []
    for value in dict.fromkeys(codes or []):
        framework, _, code = str(value).partition(":")
        result.append(Alignment(framework, code, levels.get(framework)))
    return result


# --- loading ------------------------------------------------------------------------------------

def load_version(session: Session, version_id: int) -> PathwayVersion:
    """A version with its levels, milestones, alignments and prerequisites (a fixed number of queries)."""
    return session.scalar(
        sa.select(PathwayVersion).where(PathwayVersion.id == version_id)
        .options(selectinload(PathwayVersion.levels),
                 selectinload(PathwayVersion.milestones).selectinload(Milestone.alignments),
                 selectinload(PathwayVersion.milestones).selectinload(Milestone.prerequisites))
        .execution_options(populate_existing=True)
    )


def is_in_use(session: Session, version: PathwayVersion) -> bool:
    return session.scalar(sa.select(Enrolment.id).where(Enrolment.version_id == version.id).limit(1)) is not None


# --- templates ----------------------------------------------------------------------------------

def _validate_template(name: str | None, description: str | None) -> tuple[str, str | None]:
    name, description = _clean(name), _clean(description)
    if not name:
        raise ValidationFailed("Veuillez donner un nom au parcours", field="name")
    if len(name) > 200:
        raise ValidationFailed("200 caractères au maximum", field="name")
    return name, description


def create_template(session: Session, actor, *, name: str | None, description: str | None = None,
                    territory_id: int | None) -> PathwayTemplate:
    """A new template with version 1 holding only its final milestone (« Autonomie numérique »).

    Raises ValidationFailed without a name.
    """
    name, description = _validate_template(name, description)
    template = PathwayTemplate(territory_id=territory_id, name=name, description=description,
                               created_by_id=actor.id)
    session.add(template)
    session.flush()
    version = PathwayVersion(template=template, number=1, created_by_id=actor.id)
    session.add(version)
    session.flush()
    session.add(Milestone(version_id=version.id, level_id=None, kind=MilestoneKind.PATHWAY, position=1,
                          title=PATHWAY_COMPLETION_TITLE,
                          criteria="Tous les niveaux du parcours sont atteints.", awards_badge=True))
    session.flush()
    record(session, "pathway.template_created", actor=actor, obj=template, details={"territory_id": territory_id})
    return template


def rename_template(session: Session, actor, template: PathwayTemplate, *, name: str | None,
                    description: str | None) -> PathwayTemplate:
    """Name and description belong to the template (all versions)."""
    template.name, template.description = _validate_template(name, description)
    session.flush()
    record(session, "pathway.template_updated", actor=actor, obj=template, details={"fields": ["name", "description"]})
    return template


def set_archived(session: Session, actor, template: PathwayTemplate, archived: bool) -> PathwayTemplate:
    """An archived template takes no new enrolment; people enrolled go on."""
    if archived == (template.archived_at is not None):
        raise DomainError("Ce parcours est déjà archivé." if archived else "Ce parcours n'est pas archivé.")
    template.archived_at = utcnow() if archived else None
    session.flush()
    record(session, "pathway.template_archived" if archived else "pathway.template_restored", actor=actor,
           obj=template)
    return template


# --- copy on write ------------------------------------------------------------------------------

@dataclass
class Writable:
    """The version to edit, and where the ids of the version shown to the user went."""

    version: PathwayVersion
    levels: dict[int, PathwayLevel]
    milestones: dict[int, Milestone]
    created: bool

    def level(self, level_id) -> PathwayLevel:
        try:
            return self.levels[int(level_id)]
        except (KeyError, TypeError, ValueError):
            raise NotFound("Ce niveau n'existe pas dans ce parcours.") from None

    def milestone(self, milestone_id) -> Milestone:
        try:
            return self.milestones[int(milestone_id)]
        except (KeyError, TypeError, ValueError):
            raise NotFound("Cette étape n'existe pas dans ce parcours.") from None


def writable(session: Session, actor, template: PathwayTemplate) -> Writable:
    """The current version if nobody is enrolled in it, else a new version copied from it."""
    current = load_version(session, template.current_version.id)
    if not is_in_use(session, current):
        return Writable(current, {lv.id: lv for lv in current.levels}, {m.id: m for m in current.milestones}, False)
    copy = PathwayVersion(template_id=template.id, number=current.number + 1, based_on_id=current.id,
                          created_by_id=actor.id)
    session.add(copy)
    session.flush()
    levels = {}
    for level in current.levels:
        levels[level.id] = PathwayLevel(version_id=copy.id, position=level.position, title=level.title,
                                        description=level.description)
        session.add(levels[level.id])
    session.flush()
    milestones = {}
    for m in current.milestones:
        milestones[m.id] = Milestone(
            version_id=copy.id, level_id=levels[m.level_id].id if m.level_id else None, kind=m.kind,
            position=m.position, title=m.title, criteria=m.criteria, service=m.service,
            awards_badge=m.awards_badge, copied_from_id=m.id,
            alignments=[MilestoneAlignment(framework=a.framework, code=a.code, level=a.level) for a in m.alignments])
        session.add(milestones[m.id])
    session.flush()
    links = [{"milestone_id": milestones[m.id].id, "required_id": milestones[r.id].id}
             for m in current.milestones for r in m.prerequisites]
    if links:
        session.execute(sa.insert(milestone_prerequisites), links)
    session.expire(template, ["versions"])
    record(session, "pathway.version_created", actor=actor, obj=template,
           details={"version": copy.number, "based_on": current.number})
    fresh = load_version(session, copy.id)
    by_id = {m.id: m for m in fresh.milestones}
    level_by_id = {lv.id: lv for lv in fresh.levels}
    return Writable(fresh, {old: level_by_id[new.id] for old, new in levels.items()},
                    {old: by_id[new.id] for old, new in milestones.items()}, True)


def _changed(session: Session, actor, template: PathwayTemplate, target: Writable, change: str, **details) -> None:
    record(session, "pathway.updated", actor=actor, obj=template,
           details={"version": target.version.number, "change": change, **details})


# --- levels -------------------------------------------------------------------------------------

def _level_values(title: str | None, description: str | None) -> tuple[str, str | None]:
    title, description = _clean(title), _clean(description)
    if not title:
        raise ValidationFailed("Veuillez donner un titre au niveau", field="title")
    if len(title) > 200:
        raise ValidationFailed("200 caractères au maximum", field="title")
    return title, description


def add_level(session: Session, actor, template: PathwayTemplate, *, title: str | None,
              description: str | None = None) -> Writable:
    """Append a level (with its « niveau atteint » milestone, computed when its steps are done)."""
    title, description = _level_values(title, description)
    target = writable(session, actor, template)
    position = max((lv.position for lv in target.version.levels), default=0) + 1
    level = PathwayLevel(version_id=target.version.id, position=position, title=title, description=description)
    session.add(level)
    session.flush()
    session.add(Milestone(version_id=target.version.id, level_id=level.id, kind=MilestoneKind.LEVEL,
                          position=1000, title=f"Niveau {position} atteint : {title}",
                          criteria=f"Toutes les étapes du niveau « {title} » sont validées.", awards_badge=True))
    session.flush()
    _changed(session, actor, template, target, "level_added", position=position)
    return target


def update_level(session: Session, actor, template: PathwayTemplate, level_id: int, *, title: str | None,
                 description: str | None) -> Writable:
    title, description = _level_values(title, description)
    target = writable(session, actor, template)
    level = target.level(level_id)
    level.title, level.description = title, description
    session.flush()
    _changed(session, actor, template, target, "level_updated", position=level.position)
    return target


def move_level(session: Session, actor, template: PathwayTemplate, level_id: int, offset: int) -> Writable:
    """Swap a level with its neighbour (``offset`` −1 or +1)."""
    target = writable(session, actor, template)
    level = target.level(level_id)
    levels = sorted(target.version.levels, key=lambda lv: lv.position)
    index = levels.index(level) + offset
    if offset not in (-1, 1) or not 0 <= index < len(levels):
        raise DomainError("Ce niveau ne peut pas être déplacé plus loin.")
    other = levels[index]
    a, b = level.position, other.position
    level.position = max(lv.position for lv in levels) + 1
    session.flush()
    other.position = a
    session.flush()
    level.position = b
    session.flush()
    _changed(session, actor, template, target, "level_moved", position=b)
    return target


def delete_level(session: Session, actor, template: PathwayTemplate, level_id: int) -> Writable:
    """Remove a level and its milestones (refused if another milestone requires one of them)."""
    target = writable(session, actor, template)
    level = target.level(level_id)
    ids = {m.id for m in level.milestones}
    blocking = [m for m in target.version.milestones if m.id not in ids and any(r.id in ids for r in m.prerequisites)]
    if blocking:
        raise DomainError(f"Ce niveau ne peut pas être supprimé : l'étape « {blocking[0].title} » en dépend. "
                          "Retirez d'abord ce prérequis.")
    _delete_milestones(session, ids)
    position = level.position
    session.delete(level)
    session.flush()
    for other in sorted(target.version.levels, key=lambda lv: lv.position):
        if other.position > position:
            other.position -= 1
            session.flush()
    _changed(session, actor, template, target, "level_deleted", position=position)
    return target


def _delete_milestones(session: Session, ids: set[int]) -> None:
    if not ids:
        return
    session.execute(sa.delete(milestone_prerequisites).where(sa.or_(
        milestone_prerequisites.c.milestone_id.in_(ids), milestone_prerequisites.c.required_id.in_(ids))))
    session.execute(sa.delete(MilestoneAlignment).where(MilestoneAlignment.milestone_id.in_(ids)))
    session.execute(sa.delete(Milestone).where(Milestone.id.in_(ids)))
    for obj in list(session.identity_map.values()):
        if isinstance(obj, Milestone | PathwayLevel | PathwayVersion):
            session.expire(obj)


# --- milestones ---------------------------------------------------------------------------------

def _requires(milestone: Milestone, version: PathwayVersion) -> set[int]:
    """Direct requirements of a milestone, explicit and implicit (a completion needs its steps)."""
    if milestone.kind == MilestoneKind.LEVEL:
        return {m.id for m in version.milestones if m.level_id == milestone.level_id and m.kind == MilestoneKind.STEP}
    if milestone.kind == MilestoneKind.PATHWAY:
        return {m.id for m in version.milestones if m.kind == MilestoneKind.LEVEL}
    return {r.id for r in milestone.prerequisites}


def _reaches(version: PathwayVersion, start_ids: set[int], goal: int, edges: dict[int, set[int]]) -> bool:
    seen, stack = set(), list(start_ids)
    while stack:
        current = stack.pop()
        if current == goal:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack.extend(edges.get(current, ()))
    return False


def _validate_milestone(version: PathwayVersion, milestone: Milestone | None, data: MilestoneInput,
                        kind: MilestoneKind) -> dict:
    errors: dict[str, str] = {}
    title = _clean(data.title)
    if not title:
        errors["title"] = "Veuillez donner un titre à l'étape"
    elif len(title) > 200:
        errors["title"] = "200 caractères au maximum"
    criteria = _clean(data.criteria)
    if kind == MilestoneKind.STEP and not criteria:
        errors["criteria"] = "Décrivez ce que la personne sait faire quand l'étape est validée (critères observables)"
    service = _clean(data.service)
    if service and service not in SERVICES:
        errors["service"] = "Service inconnu du schéma national"
    alignments = []
    for a in data.alignments:
        framework = FRAMEWORKS.get(a.framework)
        if framework is None or a.code not in framework.competences:
            errors["alignments"] = "Compétence inconnue (référentiels Pix et DigComp 2.2)"
            continue
        if a.level is not None and not 1 <= a.level <= 8:
            errors["alignments"] = "Le niveau de maîtrise va de 1 à 8"
            continue
        alignments.append(a)
    by_id = {m.id: m for m in version.milestones}
    prerequisites = []
    wanted = list(dict.fromkeys(int(i) for i in data.prerequisite_ids or []))
    if kind != MilestoneKind.STEP and wanted:
        errors["prerequisite_ids"] = "Un niveau ou le parcours est atteint quand ses étapes le sont : pas d'autre prérequis"
    for required_id in wanted if kind == MilestoneKind.STEP else []:
        required = by_id.get(required_id)
        if required is None:
            errors["prerequisite_ids"] = "Ce prérequis n'est pas une étape de ce parcours"
        elif milestone is not None and required.id == milestone.id:
            errors["prerequisite_ids"] = "Une étape ne peut pas être son propre prérequis"
        elif required.kind == MilestoneKind.PATHWAY:
            errors["prerequisite_ids"] = "La fin du parcours ne peut pas être le prérequis d'une étape"
        else:
            prerequisites.append(required)
    if milestone is not None and prerequisites and "prerequisite_ids" not in errors:
        edges = {m.id: _requires(m, version) for m in version.milestones}
        for required in prerequisites:
            if _reaches(version, {required.id}, milestone.id, edges):
                errors["prerequisite_ids"] = (f"Prérequis circulaire : « {required.title} » dépend déjà de cette "
                                              "étape")
                break
    if errors:
        raise ValidationFailed(next(iter(errors.values())), errors=errors)
    return {"title": title, "criteria": criteria, "service": service, "awards_badge": bool(data.awards_badge),
            "prerequisites": prerequisites, "alignments": alignments}


def _apply_milestone(milestone: Milestone, values: dict) -> None:
    milestone.title = values["title"]
    milestone.criteria = values["criteria"]
    milestone.awards_badge = values["awards_badge"]
    if milestone.kind == MilestoneKind.STEP:
        milestone.service = values["service"]
        milestone.prerequisites = values["prerequisites"]
    wanted = {(a.framework, a.code): a.level for a in values["alignments"]}
    milestone.alignments = [a for a in milestone.alignments if (a.framework, a.code) in wanted]
    for a in milestone.alignments:
        a.level = wanted.pop((a.framework, a.code))
    for (framework, code), level in wanted.items():
        milestone.alignments.append(MilestoneAlignment(framework=framework, code=code, level=level))


def add_milestone(session: Session, actor, template: PathwayTemplate, level_id: int,
                  data: MilestoneInput) -> tuple[Writable, Milestone]:
    """Append a step to a level. Raises ValidationFailed (title, criteria, prerequisites…)."""
    target = writable(session, actor, template)
    level = target.level(level_id)
    values = _validate_milestone(target.version, None, _remap(data, target), MilestoneKind.STEP)
    position = max((m.position for m in level.steps), default=0) + 1
    milestone = Milestone(version_id=target.version.id, level_id=level.id, kind=MilestoneKind.STEP,
                          position=position, title=values["title"])
    session.add(milestone)
    _apply_milestone(milestone, values)
    session.flush()
    _changed(session, actor, template, target, "milestone_added", level=level.position)
    return target, milestone


def _remap(data: MilestoneInput, target: Writable) -> MilestoneInput:
    """Prerequisite ids chosen on the version shown are mapped into the version edited."""
    ids = []
    for i in data.prerequisite_ids or []:
        try:
            ids.append(target.milestones[int(i)].id if int(i) in target.milestones else int(i))
        except (TypeError, ValueError):
            ids.append(-1)
    return MilestoneInput(title=data.title, criteria=data.criteria, service=data.service,
                          awards_badge=data.awards_badge, prerequisite_ids=ids, alignments=data.alignments)


def update_milestone(session: Session, actor, template: PathwayTemplate, milestone_id: int,
                     data: MilestoneInput) -> tuple[Writable, Milestone]:
    """Edit a step (or the title, criteria, badge and alignments of a completion milestone)."""
    target = writable(session, actor, template)
    milestone = target.milestone(milestone_id)
    values = _validate_milestone(target.version, milestone, _remap(data, target), milestone.kind)
    _apply_milestone(milestone, values)
    session.flush()
    _changed(session, actor, template, target, "milestone_updated", milestone_id=milestone.id)
    return target, milestone


def move_milestone(session: Session, actor, template: PathwayTemplate, milestone_id: int, offset: int) -> Writable:
    target = writable(session, actor, template)
    milestone = target.milestone(milestone_id)
    if milestone.kind != MilestoneKind.STEP:
        raise DomainError("Seules les étapes se déplacent.")
    steps = sorted(milestone.level.steps, key=lambda m: (m.position, m.id))
    index = steps.index(milestone) + offset
    if offset not in (-1, 1) or not 0 <= index < len(steps):
        raise DomainError("Cette étape ne peut pas être déplacée plus loin.")
    for position, step in enumerate(steps, start=1):
        step.position = position
    steps[index].position, milestone.position = milestone.position, steps[index].position
    session.flush()
    _changed(session, actor, template, target, "milestone_moved", milestone_id=milestone.id)
    return target


def delete_milestone(session: Session, actor, template: PathwayTemplate, milestone_id: int) -> Writable:
    """Remove a step (completions cannot be removed; refused while another step requires it)."""
    target = writable(session, actor, template)
    milestone = target.milestone(milestone_id)
    if milestone.kind != MilestoneKind.STEP:
        raise DomainError("Un niveau atteint ou la fin du parcours ne se suppriment pas : supprimez le niveau.")
    dependants = [m for m in target.version.milestones if any(r.id == milestone.id for r in m.prerequisites)]
    if dependants:
        raise DomainError(f"Cette étape ne peut pas être supprimée : l'étape « {dependants[0].title} » en dépend.")
    _delete_milestones(session, {milestone.id})
    session.flush()
    _changed(session, actor, template, target, "milestone_deleted", milestone_id=milestone_id)
    return target


# --- the default template (docs/domain/pathways.md) -------------------------------------------

MAITRISE = "Maîtrise des outils numériques du quotidien"
DEMARCHES = "Aide aux démarches administratives"
SECURITE = "Utilisation sécurisée du numérique"

DEFAULT_TEMPLATE = {
    "name": "Parcours vers l'autonomie numérique",
    "description": "Parcours commun du territoire, de la prise en main d'un appareil à la sécurité en ligne. "
                   "Chaque étape est observée et validée par un médiateur du réseau, dans n'importe quelle "
                   "structure où la personne a accepté que son dossier soit partagé.",
    "levels": [
        ("Premiers pas", "Prendre en main son matériel et internet.", [
            ("Prendre en main un ordinateur ou un smartphone",
             "Allume l'appareil, utilise le clavier et la souris ou l'écran tactile, ouvre et ferme une application.",
             MAITRISE, [("pix", "5.2", 1), ("digcomp", "5.1", 1)], []),
            ("Naviguer et chercher sur internet",
             "Ouvre un navigateur, saisit une adresse, fait une recherche et ouvre un résultat pertinent.",
             MAITRISE, [("pix", "1.1", 1), ("digcomp", "1.1", 1)], [0]),
        ]),
        ("Communiquer", "Échanger par e-mail.", [
            ("Créer et utiliser une adresse e-mail",
             "Crée une adresse, s'y connecte seul, lit et envoie un message.",
             MAITRISE, [("pix", "2.1", 1), ("digcomp", "2.1", 1)], ["niveau-1"]),
            ("Envoyer un document en pièce jointe",
             "Joint un fichier ou une photo à un message et l'envoie au bon destinataire.",
             MAITRISE, [("pix", "2.2", 1), ("digcomp", "2.2", 1)], [2]),
        ]),
        ("Démarches en ligne", "Faire ses démarches administratives en ligne.", [
            ("Créer son compte sur un service public et se connecter avec FranceConnect",
             "Crée son compte (ameli, impots.gouv, CAF…) et s'y connecte avec FranceConnect.",
             DEMARCHES, [("pix", "2.4", 2), ("digcomp", "2.3", 2), ("digcomp", "2.6", 2)], ["niveau-2"]),
            ("Déposer un justificatif numérisé",
             "Numérise ou photographie un justificatif lisible et le dépose sur le service.",
             DEMARCHES, [("pix", "1.2", 2), ("digcomp", "1.3", 2)], [4]),
        ]),
        ("Se protéger", "Sécurité et protection des données.", [
            ("Gérer ses mots de passe",
             "Choisit des mots de passe robustes et différents, sait les retrouver ou les réinitialiser.",
             SECURITE, [("pix", "4.1", 2), ("digcomp", "4.1", 2), ("digcomp", "4.2", 2)], ["niveau-3"]),
            ("Repérer une arnaque ou une fausse information",
             "Reconnaît un hameçonnage ou une fausse information et sait quoi faire (ne pas cliquer, signaler).",
             SECURITE, [("pix", "4.2", 2), ("pix", "1.1", 2), ("digcomp", "4.2", 2), ("digcomp", "1.2", 2)],
             ["niveau-3"]),
        ]),
    ],
}


def create_default_template(session: Session, actor, territory_id: int | None) -> PathwayTemplate:
    """The default template of docs/domain/pathways.md: four levels of two steps, each aligned
    with Pix and DigComp 2.2; each level opens once the previous one is reached."""
    spec = DEFAULT_TEMPLATE
    template = create_template(session, actor, name=spec["name"], description=spec["description"],
                               territory_id=territory_id)
    version = template.current_version
    steps: list[Milestone] = []
    completions: dict[str, Milestone] = {}
    for position, (title, description, milestones) in enumerate(spec["levels"], start=1):
        level = PathwayLevel(version_id=version.id, position=position, title=title, description=description)
        session.add(level)
        session.flush()
        level_steps = []
        for index, (step_title, criteria, service, alignments, requires) in enumerate(milestones, start=1):
            step = Milestone(version_id=version.id, level_id=level.id, kind=MilestoneKind.STEP, position=index,
                             title=step_title, criteria=criteria, service=service, awards_badge=True,
                             alignments=[MilestoneAlignment(framework=f, code=c, level=lv) for f, c, lv in alignments])
            step.prerequisites = [completions[r] if isinstance(r, str) else steps[r] for r in requires]
            session.add(step)
            steps.append(step)
            level_steps.append(step)
        union = {(a.framework, a.code): a.level for s in level_steps for a in s.alignments}
        completion = Milestone(
            version_id=version.id, level_id=level.id, kind=MilestoneKind.LEVEL, position=1000,
            title=f"Niveau {position} atteint : {title}",
            criteria=f"Toutes les étapes du niveau « {title} » sont validées.", awards_badge=True,
            alignments=[MilestoneAlignment(framework=f, code=c, level=lv) for (f, c), lv in sorted(union.items())])
        session.add(completion)
        completions[f"niveau-{position}"] = completion
        session.flush()
    final = session.scalar(sa.select(Milestone).where(Milestone.version_id == version.id,
                                                      Milestone.kind == MilestoneKind.PATHWAY))
    codes = sorted({a.code for s in steps for a in s.alignments if a.framework == PIX.key})
    final.criteria = "Les quatre niveaux du parcours sont atteints : la personne est autonome au quotidien."
    final.alignments = [MilestoneAlignment(framework=PIX.key, code=c) for c in codes] + [
        MilestoneAlignment(framework=DIGCOMP.key, code=c) for c in
        sorted({a.code for s in steps for a in s.alignments if a.framework == DIGCOMP.key})]
    session.flush()
    record(session, "pathway.updated", actor=actor, obj=template,
           details={"version": 1, "change": "default_template", "levels": len(spec["levels"])})
    return template
