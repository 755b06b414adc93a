"""Designing pathways: the frameworks, the default template, versioning, prerequisites."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.errors import DomainError, ValidationFailed
from mediation.pathways import services as pathway_services
from mediation.pathways import versions
from mediation.pathways.enums import DIGCOMP, PIX, MilestoneKind, proficiency_label
from mediation.pathways.models import PathwayVersion
from mediation.pathways.versions import Alignment, MilestoneInput


def test_frameworks_are_defined_once_with_their_codes_and_labels():
    assert len(PIX.competences) == 16 and len(PIX.areas) == 5
    assert PIX.competences["2.4"].label == "S'insérer dans le monde numérique"
    assert PIX.competences["5.2"].label == "Construire un environnement numérique"
    assert len(DIGCOMP.competences) == 21 and len(DIGCOMP.areas) == 5
    assert DIGCOMP.competences["2.6"].name == "Managing digital identity"
    assert proficiency_label("digcomp", 3) == "niveau 3 (intermédiaire)"


def test_default_template_follows_the_domain_note(session, template):
    version = versions.load_version(session, template.current_version.id)
    assert [lv.title for lv in version.levels] == ["Premiers pas", "Communiquer", "Démarches en ligne", "Se protéger"]
    assert all(len(lv.steps) == 2 for lv in version.levels)
    assert all(lv.completion_milestone is not None for lv in version.levels)
    assert version.completion_milestone.title == "Autonomie numérique"
    email = next(m for m in version.milestones if m.title == "Créer et utiliser une adresse e-mail")
    assert {(a.framework, a.code) for a in email.alignments} == {("pix", "2.1"), ("digcomp", "2.1")}
    assert [r.title for r in email.prerequisites] == ["Niveau 1 atteint : Premiers pas"]
    scam = next(m for m in version.milestones if m.title.startswith("Repérer une arnaque"))
    assert {a.code for a in scam.alignments if a.framework == "pix"} == {"4.2", "1.1"}
    assert all(m.awards_badge for m in version.milestones)


def test_an_unused_version_is_edited_in_place(session, network, template):
    version = template.current_version
    target, milestone = versions.add_milestone(session, network.coordinator, template, version.levels[0].id,
                                               MilestoneInput(title="Allumer une tablette", criteria="Seul·e.",
                                                              alignments=[Alignment("pix", "5.2", 1)]))
    assert not target.created and target.version.id == version.id
    assert milestone.level_id == version.levels[0].id and milestone.position == 3
    assert session.scalar(sa.select(sa.func.count(PathwayVersion.id))
                          .where(PathwayVersion.template_id == template.id)) == 1


def test_editing_a_version_in_use_creates_the_next_one_and_enrolled_people_keep_theirs(
        session, network, template, enrolled, validate, steps):
    enrolment = enrolled()
    validate(enrolment, steps[0])
    old_version = template.current_version
    target, milestone = versions.update_milestone(
        session, network.coordinator, template, steps[1].id,
        MilestoneInput(title="Faire une recherche sur internet", criteria="Trouve un horaire de bus.",
                       prerequisite_ids=[steps[0].id], alignments=[Alignment("pix", "1.1", 1)]))
    assert target.created and target.version.number == 2 and target.version.based_on_id == old_version.id
    assert milestone.version_id == target.version.id
    # the prerequisite chosen on version 1 was mapped to its copy in version 2
    assert [r.version_id for r in milestone.prerequisites] == [target.version.id]
    # the person keeps version 1, untouched
    session.refresh(enrolment)
    assert enrolment.version_id == old_version.id
    progress = pathway_services.compute_progress(session, enrolment)
    assert progress.steps[1].milestone.title == "Naviguer et chercher sur internet"
    assert progress.done_steps == 1
    # new enrolments take version 2; a second edit stays in version 2 (nobody in it yet)
    session.expire(template)
    assert template.current_version.number == 2
    again = versions.add_level(session, network.coordinator, template, title="Aller plus loin")
    assert not again.created and again.version.number == 2
    assert session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "pathway.version_created"))


def test_prerequisites_cannot_loop_nor_point_outside(session, network, template, steps):
    version = versions.load_version(session, template.current_version.id)
    level_1 = next(m for m in version.milestones if m.kind == MilestoneKind.LEVEL and m.level.position == 1)
    with pytest.raises(ValidationFailed) as error:  # level 1 is reached only once this very step is done
        versions.update_milestone(session, network.coordinator, template, steps[0].id,
                                  MilestoneInput(title=steps[0].title, criteria="x", prerequisite_ids=[level_1.id]))
    assert "Prérequis circulaire" in error.value.message
    with pytest.raises(ValidationFailed) as error:
        versions.update_milestone(session, network.coordinator, template, steps[0].id,
                                  MilestoneInput(title=steps[0].title, criteria="x", prerequisite_ids=[steps[0].id]))
    assert error.value.message == "Une étape ne peut pas être son propre prérequis"
    with pytest.raises(ValidationFailed) as error:
        versions.add_milestone(session, network.coordinator, template, version.levels[0].id,
                               MilestoneInput(title="", criteria="", alignments=[Alignment("pix", "9.9")]))
    assert error.value.errors == {"title": "Veuillez donner un titre à l'étape",
                                  "criteria": "Décrivez ce que la personne sait faire quand l'étape est validée "
                                              "(critères observables)",
                                  "alignments": "Compétence inconnue (référentiels Pix et DigComp 2.2)"}


def test_a_required_step_or_a_completion_cannot_be_deleted(session, network, template, steps):
    with pytest.raises(DomainError, match="l'étape « Naviguer et chercher sur internet » en dépend"):
        versions.delete_milestone(session, network.coordinator, template, steps[0].id)
    version = versions.load_version(session, template.current_version.id)
    with pytest.raises(DomainError, match="ne se suppriment pas"):
        versions.delete_milestone(session, network.coordinator, template, version.completion_milestone.id)
    versions.delete_milestone(session, network.coordinator, template, steps[7].id)
    version = versions.load_version(session, template.current_version.id)
    assert len(version.levels[3].steps) == 1


def test_levels_move_and_are_renumbered_after_a_deletion(session, network, template):
    versions.move_level(session, network.coordinator, template, template.current_version.levels[1].id, -1)
    version = versions.load_version(session, template.current_version.id)
    assert [lv.title for lv in version.levels][:2] == ["Communiquer", "Premiers pas"]
    with pytest.raises(DomainError, match="l'étape .* en dépend"):
        versions.delete_level(session, network.coordinator, template, version.levels[1].id)
    versions.delete_level(session, network.coordinator, template, version.levels[3].id)
    version = versions.load_version(session, template.current_version.id)
    assert [lv.position for lv in version.levels] == [1, 2, 3]
