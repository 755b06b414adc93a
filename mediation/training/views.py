"""Training pages: the staff of a coordinator's scope, one person's trainings (record one with its
certificate, download it, remove it), the territory's skills table and the exports (CSV).

Every handler loads through the user's scope (training/policy.py), checks the policy, acts through a
service and renders."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mediation.auth.models import Role, User
from mediation.directory import notifications
from mediation.directory.models import Territory
from mediation.downloads import file_response
from mediation.errors import DomainError, Forbidden
from mediation.extensions import db
from mediation.forms import show_domain_error
from mediation.pagination import page_arg, page_of, paginate
from mediation.policy import access, found_or_404
from mediation.training import exports, habilitation, policy, services
from mediation.training.forms import CertificateForm, ConfirmForm, TrainingForm
from mediation.training.models import REFERENCE_KINDS
from mediation.types import local_today
from mediation.uploads import EXTENSIONS, SCAN_MAX_BYTES

bp = Blueprint("training", __name__, url_prefix="/formations")
STAFF = (Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN)


@bp.route("/")
@access(*STAFF)
def index():
    """Coordination: the staff of the scope and their reference trainings; others: their own page."""
    if not policy.is_supervisor(current_user):  # their own page, at the menu's address
        return _person_page(current_user, TrainingForm(kinds=policy.recordable_kinds(current_user, current_user)))
    today = local_today()
    query = policy.visible_people(current_user).order_by(User.last_name, User.first_name, User.id)
    q = (request.args.get("q") or "").strip()[:100]
    if q:
        query = query.where(sa.or_(User.last_name.ilike(f"%{q}%"), User.first_name.ilike(f"%{q}%")))
    page = paginate(db.session, query, page_arg(request.args), 50)
    found = services.records_by_person(db.session, [u.id for u in page.items])
    rows = [(person, services.best_by_kind(found.get(person.id, []), today)) for person in page.items]
    return render_template(
        "training/index.html", page=page, rows=rows, kinds=REFERENCE_KINDS, today=today, q=q,
        soon_days=services.SOON_DAYS, notices=notifications.unread_for_coordination(db.session, current_user),
        page_url=lambda n: url_for("training.index", page=n, q=q or None),
        confirm=ConfirmForm())


def _person_page(person: User, form: TrainingForm, status: int = 200):
    today = local_today()
    entries = services.records_of(db.session, person)
    return render_template(
        "training/person.html", person=person, entries=entries, form=form, today=today,
        soon_days=services.SOON_DAYS, can_record=bool(policy.recordable_kinds(current_user, person)),
        deletable={e.id for e in entries if policy.can_delete(current_user, e)},
        habilitation_problem=habilitation.habilitation_problem(person, today) if person.is_aidant else None,
        confirm=ConfirmForm(), is_supervisor=policy.is_supervisor(current_user),
    ), status


@bp.route("/personnes/<int:person_id>", methods=["GET", "POST"])
@access(*STAFF)
def person(person_id: int):
    person = found_or_404(policy.get_person(db.session, current_user, person_id))
    form = TrainingForm(kinds=policy.recordable_kinds(current_user, person))
    if request.method == "GET":
        return _person_page(person, form)
    if not policy.can_record(current_user, person):
        raise Forbidden("Vous ne pouvez pas enregistrer de formation pour cette personne.")
    if not policy.can_record(current_user, person, form.kind.data or None):
        raise Forbidden("Seule la coordination enregistre l’habilitation Aidants Connect : transmettez-lui "
                        "votre attestation.")
    status = 422
    if form.validate_on_submit():
        try:
            entry = services.record_training(db.session, current_user, person, **form.to_input())
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"« {entry.name} » est enregistrée dans les formations de {person.full_name}.", "success")
            return redirect(url_for("training.person", person_id=person.id))
    return _person_page(person, form, status)


@bp.route("/<int:record_id>/attestation.<ext>")
@access(*STAFF)
def certificate_file(record_id: int, ext: str):
    """The certificate, under its own extension (images open in the browser, PDFs download)."""
    entry = found_or_404(policy.get_record(db.session, current_user, record_id))
    if entry.certificate_type is None or EXTENSIONS[entry.certificate_type] != ext:
        abort(404)
    return file_response(entry.certificate, f"attestation-formation-{entry.id}.{ext}", entry.certificate_type,
                         inline=entry.certificate_type != "application/pdf")


@bp.route("/<int:record_id>/attestation", methods=["POST"])
@access(*STAFF)
def certificate(record_id: int):
    """Attach or replace the certificate of a record."""
    entry = found_or_404(policy.get_record(db.session, current_user, record_id))
    form = CertificateForm()
    if not policy.can_delete(current_user, entry):
        raise Forbidden("Vous ne pouvez pas modifier cette formation.")
    if form.validate_on_submit():
        upload = form.certificate.data
        data = upload.read(SCAN_MAX_BYTES + 1) if upload and hasattr(upload, "read") else None
        try:
            services.attach_certificate(db.session, current_user, entry, data)
        except DomainError as error:
            flash(error.message, "error")
            person = entry.user
            return _person_page(person, TrainingForm(formdata=None, kinds=policy.recordable_kinds(current_user, person)),
                                422)
        flash("L’attestation est jointe.", "success")
    return redirect(url_for("training.person", person_id=entry.user_id))


@bp.route("/<int:record_id>/suppression", methods=["POST"])
@access(*STAFF)
def delete(record_id: int):
    entry = found_or_404(policy.get_record(db.session, current_user, record_id))
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    person_id, name = entry.user_id, entry.name
    services.delete_training(db.session, current_user, entry)
    flash(f"« {name} » est supprimée.", "success")
    return redirect(url_for("training.person", person_id=person_id))


SKILLS_ROWS = 100  # rows of the skills table per page: a national network has thousands of places
SKILLS_VIEWS = {"communes": "Par commune", "structures": "Par structure"}


def _skills_filters() -> dict:
    territory = request.args.get("territoire", type=int) if current_user.role == Role.ADMIN else None
    return {"service": request.args.get("service") or None, "territory_id": territory}


@bp.route("/competences")
@access(Role.COORDINATOR, Role.ADMIN)
def skills():
    filters = _skills_filters()
    view = request.args.get("vue") if request.args.get("vue") in SKILLS_VIEWS else "communes"
    status = 200
    try:
        table = services.skills(db.session, current_user, **filters)
    except DomainError as error:
        flash(error.message, "error")
        filters["service"] = None
        table = services.skills(db.session, current_user, **filters)
        status = 422
    territories = (db.session.execute(sa.select(Territory.id, Territory.name).order_by(Territory.name)).all()
                   if current_user.role == Role.ADMIN else [])
    args = {"service": table.service, "territoire": filters["territory_id"]}
    rows = table.communes if view == "communes" else table.structures
    return render_template(
        "training/skills.html", table=table, today=local_today(), view=view, views=SKILLS_VIEWS,
        territories=territories, territory_id=filters["territory_id"], args=args,
        page=page_of(rows, page_arg(request.args), SKILLS_ROWS),
        page_url=lambda n: url_for("training.skills", vue=view, page=n, **args)), status


@bp.route("/competences.csv")
@access(Role.COORDINATOR, Role.ADMIN)
def skills_export():
    table = services.skills(db.session, current_user, **_skills_filters())
    return file_response(exports.skills_csv(table), f"competences-{local_today().isoformat()}.csv", "text/csv")


@bp.route("/export.csv")
@access(Role.COORDINATOR, Role.ADMIN)
def export():
    return file_response(exports.records_csv(db.session, current_user), f"formations-{local_today().isoformat()}.csv",
                         "text/csv")


@bp.route("/notifications/lues", methods=["POST"])
@access(Role.COORDINATOR, Role.ADMIN)
def notices_read():
    if not ConfirmForm().validate_on_submit():
        abort(400)
    count = notifications.mark_coordination_read(db.session, current_user)
    flash(f"{count} alerte{'s' if count > 1 else ''} marquée{'s' if count > 1 else ''} comme lue"
          f"{'s' if count > 1 else ''}.", "success")
    return redirect(url_for("training.index"))
