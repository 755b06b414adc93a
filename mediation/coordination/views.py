"""Pages of coordinators' activities: list (with counts by type), log one, see one, delete one."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mediation.auth.models import Role
from mediation.coordination import services
from mediation.coordination.enums import (
    AnimationTheme,
    CoordinationType,
    Organiser,
    PartnershipNature,
    PartnerType,
)
from mediation.coordination.forms import CoordinationForm
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import BaseForm, show_domain_error
from mediation.pagination import page_arg, paginate
from mediation.policy import access, found_or_404

bp = Blueprint("coordination", __name__, url_prefix="/coordination")


@bp.app_context_processor
def inject_labels():
    def labels(enum_cls):
        return lambda values: [enum_cls.label_of(v) for v in values or []]

    return {"theme_labels": labels(AnimationTheme), "organiser_labels": labels(Organiser),
            "nature_labels": labels(PartnershipNature), "partner_label": PartnerType.label_of}


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.route("/activites")
@access(Role.ADMIN, Role.COORDINATOR)
def activity_list():
    """The coordinator's animations, évènements and partenariats (an administrator: everyone's)."""
    start, end, kind = _day(request.args.get("du")), _day(request.args.get("au")), request.args.get("type") or None
    query = services.list_query(current_user, start, end, kind)
    page = paginate(db.session, query, page_arg(request.args), per_page=25)
    args = {k: v for k, v in {"du": request.args.get("du"), "au": request.args.get("au"), "type": kind}.items() if v}
    return render_template("coordination/list.html", page=page, types=CoordinationType, args=args,
                           can_log=services.can_log(current_user),
                           page_url=lambda n: url_for("coordination.activity_list", page=n, **args))


@bp.route("/activites/nouvelle", methods=["GET", "POST"])
@access(Role.COORDINATOR)
def activity_new():
    form = CoordinationForm()
    form.set_tags(services.offered_tags(db.session, current_user))
    status = 200
    if request.method == "GET" and request.args.get("type") in {t.value for t in CoordinationType}:
        form.type.data = request.args["type"]
    if form.validate_on_submit():
        try:
            activity = services.log_activity(db.session, current_user, form.to_input())
        except DomainError as error:
            status = show_domain_error(form, error, form.ALIASES)
        else:
            flash(f"{activity.type.label} enregistré{'e' if activity.type != CoordinationType.PARTENARIAT else ''}.",
                  "success")
            return redirect(url_for("coordination.activity_detail", activity_id=activity.id))
    return render_template("coordination/form.html", form=form), status


@bp.route("/activites/<int:activity_id>")
@access(Role.ADMIN, Role.COORDINATOR)
def activity_detail(activity_id: int):
    activity = found_or_404(services.get_activity(db.session, current_user, activity_id))
    return render_template("coordination/detail.html", activity=activity,
                           can_delete=activity.coordinator_id == current_user.id)


@bp.route("/activites/<int:activity_id>/supprimer", methods=["POST"])
@access(Role.COORDINATOR)
def activity_delete(activity_id: int):
    activity = found_or_404(services.get_activity(db.session, current_user, activity_id))
    if BaseForm().validate_on_submit():
        services.delete_activity(db.session, current_user, activity)
        flash("Activité de coordination supprimée.", "success")
    return redirect(url_for("coordination.activity_list"))
