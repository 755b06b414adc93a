"""Pages to design pathway templates: list, detail of a version, levels and milestones.

Coordinators manage their territory's templates and administrators all of them; mediators read
them. Each edit goes through :mod:`mediation.pathways.versions`: when people are enrolled in the
current version, the edit creates the next version and the page says so.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import BaseForm, show_domain_error
from mediation.pathways import policy, versions
from mediation.pathways.enums import DIGCOMP, PIX, MilestoneKind
from mediation.pathways.forms import LevelForm, MilestoneForm, TemplateForm, opts
from mediation.pathways.models import Enrolment, PathwayTemplate, PathwayVersion
from mediation.pathways.views import MANAGERS, STAFF, bp
from mediation.policy import access, found_or_404


def load_template(template_id: int) -> PathwayTemplate:
    return found_or_404(policy.get_template(db.session, current_user, template_id))


def managed_template(template_id: int) -> PathwayTemplate:
    template = load_template(template_id)
    if not policy.can_manage_template(current_user, template):
        abort(403)
    return template


def _after_edit(template: PathwayTemplate, target: versions.Writable, message: str):
    if target.created:
        message += (f" Des personnes suivent la version précédente : la modification a créé la version "
                    f"{target.version.number}, qu'utiliseront les prochaines inscriptions.")
    flash(message, "success")
    return redirect(url_for("pathways.template_detail", template_id=template.id))


@bp.route("/modeles")
@access(*STAFF)
def template_list():
    templates = db.session.scalars(policy.visible_templates(current_user)
                                   .options(selectinload(PathwayTemplate.versions), joinedload(PathwayTemplate.territory))
                                   .order_by(PathwayTemplate.archived_at.is_not(None), PathwayTemplate.name)).all()
    counts = dict(db.session.execute(
        sa.select(Enrolment.template_id, sa.func.count(Enrolment.id))
        .where(Enrolment.template_id.in_([t.id for t in templates])).group_by(Enrolment.template_id)).all())
    user = current_user
    has_own = any(t.territory_id == user.territory_id for t in templates)  # admins: a national one
    return render_template("pathways/template_list.html", templates=templates, counts=counts,
                           can_create=policy.can_create_template(user), offer_default=not has_own, form=BaseForm())


@bp.route("/modeles/nouveau", methods=["GET", "POST"])
@access(*MANAGERS)
def template_new():
    status = 200
    form = TemplateForm()
    if form.validate_on_submit():
        try:
            template = versions.create_template(db.session, current_user, name=form.name.data,
                                                description=form.description.data,
                                                territory_id=current_user.territory_id)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"Parcours « {template.name} » créé : ajoutez ses niveaux et ses étapes.", "success")
            return redirect(url_for("pathways.template_detail", template_id=template.id))
    return render_template("pathways/template_form.html", form=form, template=None), status


@bp.route("/modeles/par-defaut", methods=["POST"])
@access(*MANAGERS)
def template_default():
    if BaseForm().validate_on_submit():
        template = versions.create_default_template(db.session, current_user, current_user.territory_id)
        flash(f"Parcours « {template.name} » créé à partir du modèle par défaut : adaptez-le si besoin.", "success")
        return redirect(url_for("pathways.template_detail", template_id=template.id))
    return redirect(url_for("pathways.template_list"))


@bp.route("/modeles/<int:template_id>")
@access(*STAFF)
def template_detail(template_id: int):
    template = load_template(template_id)
    number = request.args.get("version", type=int)
    shown = next((v for v in template.versions if v.number == number), None) if number else template.current_version
    shown = found_or_404(shown)
    version = versions.load_version(db.session, shown.id)
    counts = dict(db.session.execute(
        sa.select(Enrolment.version_id, sa.func.count(Enrolment.id))
        .where(Enrolment.template_id == template.id).group_by(Enrolment.version_id)).all())
    is_current = version.id == template.current_version.id
    return render_template(
        "pathways/template_detail.html", template=template, version=version, counts=counts,
        is_current=is_current, can_manage=policy.can_manage_template(current_user, template) and is_current,
        kinds=MilestoneKind, form=BaseForm(),
    )


@bp.route("/modeles/<int:template_id>/modifier", methods=["GET", "POST"])
@access(*MANAGERS)
def template_edit(template_id: int):
    status = 200
    template = managed_template(template_id)
    form = TemplateForm(obj=template if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            versions.rename_template(db.session, current_user, template, name=form.name.data,
                                     description=form.description.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Parcours modifié.", "success")
            return redirect(url_for("pathways.template_detail", template_id=template.id))
    return render_template("pathways/template_form.html", form=form, template=template), status


@bp.route("/modeles/<int:template_id>/archiver", methods=["POST"])
@access(*MANAGERS)
def template_archive(template_id: int):
    template = managed_template(template_id)
    if BaseForm().validate_on_submit():
        archived = template.archived_at is None
        try:
            versions.set_archived(db.session, current_user, template, archived)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Parcours archivé : il n'accepte plus d'inscription." if archived else "Parcours restauré.",
                  "success")
    return redirect(url_for("pathways.template_detail", template_id=template.id))


# --- levels -------------------------------------------------------------------------------------

def _level_page(template: PathwayTemplate, level_id: int | None):
    status = 200
    version = versions.load_version(db.session, template.current_version.id)
    level = None
    if level_id is not None:
        level = found_or_404(next((lv for lv in version.levels if lv.id == level_id), None))
    form = LevelForm(obj=level if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            if level is None:
                target = versions.add_level(db.session, current_user, template, title=form.title.data,
                                            description=form.description.data)
                message = "Niveau ajouté."
            else:
                target = versions.update_level(db.session, current_user, template, level.id, title=form.title.data,
                                               description=form.description.data)
                message = "Niveau modifié."
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            return _after_edit(template, target, message)
    return render_template("pathways/level_form.html", form=form, template=template, level=level,
                           in_use=versions.is_in_use(db.session, version)), status


@bp.route("/modeles/<int:template_id>/niveaux/nouveau", methods=["GET", "POST"])
@access(*MANAGERS)
def level_new(template_id: int):
    return _level_page(managed_template(template_id), None)


@bp.route("/modeles/<int:template_id>/niveaux/<int:level_id>", methods=["GET", "POST"])
@access(*MANAGERS)
def level_edit(template_id: int, level_id: int):
    return _level_page(managed_template(template_id), level_id)


def _structural_edit(template, object_id: int, moves: dict, action: str):
    """Move up/down or delete a level or a milestone (POST), then back to the template page."""
    if action not in moves:
        abort(404)
    if BaseForm().validate_on_submit():
        move, args, message = moves[action]
        try:
            target = move(db.session, current_user, template, object_id, *args)
        except DomainError as error:
            if error.status_code == 404:
                abort(404)
            flash(error.message, "error")
        else:
            return _after_edit(template, target, message)
    return redirect(url_for("pathways.template_detail", template_id=template.id))


@bp.route("/modeles/<int:template_id>/niveaux/<int:level_id>/<action>", methods=["POST"])
@access(*MANAGERS)
def level_action(template_id: int, level_id: int, action: str):
    template = managed_template(template_id)
    moves = {"monter": (versions.move_level, (-1,), "Niveau déplacé."),
             "descendre": (versions.move_level, (1,), "Niveau déplacé."),
             "supprimer": (versions.delete_level, (), "Niveau supprimé.")}
    return _structural_edit(template, level_id, moves, action)


# --- milestones ---------------------------------------------------------------------------------

def _milestone_page(template: PathwayTemplate, version: PathwayVersion, level_id: int | None,
                    milestone_id: int | None):
    status = 200
    milestone = None
    if milestone_id is not None:
        milestone = found_or_404(next((m for m in version.milestones if m.id == milestone_id), None))
        level = milestone.level
    else:
        level = found_or_404(next((lv for lv in version.levels if lv.id == level_id), None))
    form = MilestoneForm()
    form.prerequisite_ids.choices = opts(
        (m.id, f"{m.level.title if m.level else ''} — {m.title}") for m in version.milestones
        if m.kind != MilestoneKind.PATHWAY and (milestone is None or m.id != milestone.id))
    if request.method == "GET" and milestone is not None:
        form.fill(milestone)
    if form.validate_on_submit():
        try:
            if milestone is None:
                target, _ = versions.add_milestone(db.session, current_user, template, level.id, form.to_input())
                message = "Étape ajoutée."
            else:
                target, _ = versions.update_milestone(db.session, current_user, template, milestone.id,
                                                      form.to_input())
                message = "Étape modifiée."
        except DomainError as error:
            status = show_domain_error(form, error, MilestoneForm.ALIASES)
        else:
            return _after_edit(template, target, message)
    return render_template("pathways/milestone_form.html", form=form, template=template, level=level,
                           milestone=milestone, in_use=versions.is_in_use(db.session, version),
                           is_step=milestone is None or milestone.kind == MilestoneKind.STEP, pix=PIX, digcomp=DIGCOMP), status


@bp.route("/modeles/<int:template_id>/niveaux/<int:level_id>/etapes/nouvelle", methods=["GET", "POST"])
@access(*MANAGERS)
def milestone_new(template_id: int, level_id: int):
    template = managed_template(template_id)
    version = versions.load_version(db.session, template.current_version.id)
    return _milestone_page(template, version, level_id, None)


@bp.route("/modeles/<int:template_id>/etapes/<int:milestone_id>", methods=["GET", "POST"])
@access(*MANAGERS)
def milestone_edit(template_id: int, milestone_id: int):
    template = managed_template(template_id)
    version = versions.load_version(db.session, template.current_version.id)
    return _milestone_page(template, version, None, milestone_id)


@bp.route("/modeles/<int:template_id>/etapes/<int:milestone_id>/<action>", methods=["POST"])
@access(*MANAGERS)
def milestone_action(template_id: int, milestone_id: int, action: str):
    template = managed_template(template_id)
    moves = {"monter": (versions.move_milestone, (-1,), "Étape déplacée."),
             "descendre": (versions.move_milestone, (1,), "Étape déplacée."),
             "supprimer": (versions.delete_milestone, (), "Étape supprimée.")}
    return _structural_edit(template, milestone_id, moves, action)
