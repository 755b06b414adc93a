"""The tags page (« Mes tags »): create, rename, describe and delete the tags one manages
(mediation.cases.tags). Same blueprint as the activity pages."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from mediation.auth.models import Role
from mediation.cases import tags
from mediation.cases.forms import TagForm
from mediation.cases.views import bp
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import BaseForm, show_domain_error
from mediation.policy import access, found_or_404

MANAGERS = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)


def _page(form: TagForm, status: int = 200):
    managed = tags.manageable_tags(db.session, current_user)
    return render_template("cases/tags.html", form=form, tags=managed,
                           scope_labels=tags.scope_labels(db.session, managed),
                           can_create=bool(form.scope.choices)), status


@bp.route("/tags", methods=["GET", "POST"])
@access(*MANAGERS)
def tag_list():
    """The tags one manages, and the form to create one."""
    form = TagForm()
    form.set_scopes(tags.creatable_scopes(db.session, current_user))
    if form.validate_on_submit():
        if not form.scope.choices:
            return _page(form, 403)
        try:
            tag = tags.create_tag(db.session, current_user, form.to_input())
        except DomainError as error:
            return _page(form, show_domain_error(form, error))
        flash(f"Tag « {tag.name} » créé.", "success")
        return redirect(url_for("cases.tag_list"))
    return _page(form)


@bp.route("/tags/<int:tag_id>/modifier", methods=["GET", "POST"])
@access(*MANAGERS)
def tag_edit(tag_id: int):
    tag = found_or_404(tags.get_manageable(db.session, current_user, tag_id))
    form = TagForm(obj=tag)
    status = 200
    if form.validate_on_submit():
        try:
            tags.update_tag(db.session, current_user, tag, form.to_input())
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"Tag « {tag.name} » modifié.", "success")
            return redirect(url_for("cases.tag_list"))
    return render_template("cases/tag_edit.html", form=form, tag=tag,
                           scope_label=tags.scope_labels(db.session, [tag])[tag.id]), status


@bp.route("/tags/<int:tag_id>/supprimer", methods=["POST"])
@access(*MANAGERS)
def tag_delete(tag_id: int):
    tag = found_or_404(tags.get_manageable(db.session, current_user, tag_id))
    if BaseForm().validate_on_submit():
        tags.delete_tag(db.session, current_user, tag)
        flash(f"Tag « {tag.name} » supprimé : il reste sur les activités passées et n’est plus proposé.",
              "success")
    return redirect(url_for("cases.tag_list"))
