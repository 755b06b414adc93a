"""Evaluation pages: the dashboard per role (filters in the query string, charts with their
tables), exports, impact reports (background job, kept for download), programmes and funders,
and the follow-up calls. Handlers load through the user's scope, check the policy, call a
service and render."""

from __future__ import annotations

from urllib.parse import urlencode

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload
from wtforms.fields.choices import SelectChoice

from mediation import replica
from mediation import snapshots as kept
from mediation.auth.forms import EmptyForm
from mediation.auth.models import Role, User
from mediation.directory.models import Commune, StaffMembership, Structure, Territory
from mediation.directory.scopes import territory_structures
from mediation.downloads import file_response
from mediation.errors import DomainError, Forbidden, NotFound, ValidationFailed
from mediation.evaluation import charts, exports, indicators, policy, report, services, snapshots
from mediation.evaluation.forms import (
    AttributionForm,
    FollowUpForm,
    FunderForm,
    LinkAccountForm,
    ProgrammeForm,
    ReportRequestForm,
    yes_no,
)
from mediation.evaluation.models import FollowUp, Funder, Programme, ReportFile, ReportFormat
from mediation.evaluation.scope import ID_FIELDS, PARAMS, Scope, authorise, parse_filter, whole_months
from mediation.extensions import db
from mediation.forms import PickSource, pick_list, searching, show_domain_error
from mediation.pagination import page_arg, paginate
from mediation.policy import access, found_or_404
from mediation.replica import reads_from_replica
from mediation.text import de

bp = Blueprint("evaluation", __name__, url_prefix="/evaluation")

DASHBOARD = policy.DASHBOARD_ROLES
STAFF = policy.STAFF
MANAGERS = policy.PROGRAMME_MANAGERS


# --- filters ------------------------------------------------------------------------------------

def _filter_choices(user: User, territory_id: int | None = None, selected: dict | None = None) -> dict:
    """The options of the filter form. The administrator's communes, structures and mediators are
    those of the territory chosen (``territory_id``): the national lists (thousands of options)
    are not printed. Without a territory, only the ones already selected (``selected``: attribute →
    id, from the query string) are offered, so that a shared address still shows its filters;
    ``narrowed`` tells the form to ask for a territory first (no JavaScript needed)."""
    session = db.session
    programmes = session.scalars(policy.visible_programmes(user).options(selectinload(Programme.funder))
                                 .order_by(Programme.starts_on.desc(), Programme.name)).all()
    choices = {"programmes": [(p.id, f"{p.name} — {p.funder.name}") for p in programmes], "narrowed": False}
    if user.role == Role.FUNDER:
        choices.update(territories=[], communes=[], structures=[], mediators=[])
        return choices
    communes, structures = policy.pickable_communes(user), policy.pickable_structures(user)
    mediators = sa.select(User).where(User.role == Role.MEDIATOR, User.is_active_account.is_(True))
    if user.role == Role.COORDINATOR:
        mediators = mediators.where(User.id.in_(sa.select(StaffMembership.user_id).where(
            StaffMembership.structure_id.in_(territory_structures(user.territory_id)))))
    mediators = mediators.order_by(User.last_name, User.first_name)
    if user.role == Role.ADMIN:
        choices["territories"] = [(t.id, t.name) for t in session.scalars(sa.select(Territory).order_by(Territory.name))]
        if territory_id is not None:
            communes = communes.where(Commune.territory_id == territory_id)
            structures = structures.where(Structure.id.in_(territory_structures(territory_id)))
            mediators = mediators.where(User.id.in_(sa.select(StaffMembership.user_id).where(
                StaffMembership.structure_id.in_(territory_structures(territory_id)))))
        else:
            choices["narrowed"] = True
            picked = selected or {}
            communes = communes.where(Commune.id == picked.get("commune_id", -1))
            structures = structures.where(Structure.id == picked.get("structure_id", -1))
            mediators = mediators.where(User.id == picked.get("mediator_id", -1))
    else:
        choices["territories"] = []
    choices["communes"] = [(c.id, c.name) for c in session.scalars(communes)]
    choices["structures"] = [(s.id, s.name) for s in session.scalars(structures)]
    if user.role == Role.MEDIATOR:
        choices["mediators"] = [(user.id, "Mes propres activités")]
    elif user.role in MANAGERS:
        choices["mediators"] = [(m.id, m.full_name) for m in session.scalars(mediators)]
    else:
        choices["mediators"] = []
    if user.role == Role.ADMIN and territory_id is not None:
        # An id of the address outside the territory (a crafted or edited address) stays shown as chosen.
        for key, model, attribute, label in (("communes", Commune, "commune_id", "name"),
                                             ("structures", Structure, "structure_id", "name"),
                                             ("mediators", User, "mediator_id", "full_name")):
            wanted = (selected or {}).get(attribute)
            if wanted is not None and wanted not in {value for value, _ in choices[key]}:
                found = session.get(model, wanted)
                if found is not None:
                    choices[key].append((found.id, getattr(found, label)))
    return choices


def _selected_ids(scope: Scope | None) -> dict:
    """The ids the filters name (attribute → id): the authorised filter's, else the query string's
    well-formed ones (a page with an error in another field still shows them)."""
    if scope is not None:
        return {a: getattr(scope.filter, a) for a in ID_FIELDS if getattr(scope.filter, a) is not None}
    out = {}
    for name, attribute in PARAMS.items():
        raw = (request.args.get(name) or "").strip()
        if attribute in ID_FIELDS and raw.isascii() and raw.isdigit() and 0 < int(raw) < 2**31:
            out[attribute] = int(raw)
    return out


def _scope_from_request() -> tuple[Scope | None, dict, int]:
    """(scope, errors by parameter, status) for the query string of the current request."""
    try:
        f = parse_filter(request.args)
    except ValidationFailed as error:
        return None, error.errors, 400
    try:
        return Scope(db.session, current_user, authorise(db.session, current_user, f)), {}, 200
    except ValidationFailed as error:
        return None, error.errors, 400
    except NotFound as error:
        abort(404, error.message)
    except Forbidden as error:
        abort(403, error.message)


def _compare_arg() -> str | None:
    value = request.args.get("comparer") or None
    if value and (value not in indicators.COMPARE_DIMENSIONS or not policy.can_compare(current_user)):
        abort(400, "Comparaison inconnue ou non permise pour votre rôle.")
    return value


def _query_string(args: dict) -> str:
    return urlencode(args)


# --- dashboard ----------------------------------------------------------------------------------

@bp.route("/")
@access(*DASHBOARD)
@reads_from_replica
def dashboard():
    compare = _compare_arg()
    scope, errors, status = _scope_from_request()
    dashboard = None
    if scope is not None:
        dashboard = _dashboard(scope, compare, page=True)
    args = dashboard.query_args if dashboard else {}
    selected = _selected_ids(scope)
    with_compare = {**args, **({"comparer": compare} if compare else {})}
    return render_template(
        "evaluation/dashboard.html", dashboard=dashboard, scope=scope,
        errors=errors, values=request.args,
        choices=_filter_choices(current_user, selected.get("territory_id"), selected), compare=compare, chart=charts.chart,
        compare_dimensions=indicators.COMPARE_DIMENSIONS if policy.can_compare(current_user) else {},
        can_export_activities=policy.can_export_activities(current_user), query=_query_string(with_compare),
        filters_query=_query_string(args), report_form=ReportRequestForm(filters=_query_string(with_compare)),
        params=PARAMS, snapshot_minutes=kept.max_age().seconds // 60,
    ), status


@bp.route("/recalculer", methods=["POST"])
@access(*DASHBOARD)
def recompute():
    """« Recalculer maintenant » (the button beside the date of a kept copy): the figures of the
    query string's filters computed now, kept in place of the copy, then the page with them. A form,
    not a link: a link followed by a crawler or a browser's prefetch would start a national
    computation each time. From the primary, never the replica: « now » means the latest writes."""
    compare = _compare_arg()
    scope, _errors, _status = _scope_from_request()
    query = urlencode(request.args.to_dict(flat=False), doseq=True)
    if scope is not None and EmptyForm().validate_on_submit():
        dashboard = snapshots.dashboard(scope, compare=compare, fresh=True, page=True)
        query = _query_string({**dashboard.query_args, **({"comparer": compare} if compare else {})})
        flash("Chiffres recalculés à l'instant.", "success")
    return redirect(url_for("evaluation.dashboard") + (f"?{query}" if query else ""), 303)


def _dashboard(scope: Scope, compare: str | None = None, *, page: bool = False):
    """The dashboard of ``scope`` (``page``: as the page prints it): a recent copy when one is kept
    for these figures and was computed after this browser's last write
    (mediation.evaluation.snapshots); « Recalculer maintenant » is :func:`recompute`."""
    return snapshots.dashboard(scope, compare=compare, wrote_at=replica.last_write(), page=page)


def _dashboard_or_400(*, compute: bool = True):
    compare = _compare_arg()
    scope, errors, _ = _scope_from_request()
    if scope is None:
        abort(400, "Filtres invalides : " + " ".join(errors.values()))
    return scope, _dashboard(scope, compare) if compute else None


def _download(content, filename: str, mimetype: str) -> Response:
    return file_response(content, filename, mimetype)


@bp.route("/export.xlsx")
@access(*DASHBOARD)
@reads_from_replica
def export_xlsx():
    scope, dashboard = _dashboard_or_400()
    return _download(exports.dashboard_xlsx(dashboard), f"indicateurs-{scope.start}-{scope.end}.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.route("/export.csv")
@access(*DASHBOARD)
@reads_from_replica
def export_csv():
    scope, dashboard = _dashboard_or_400()
    return _download(exports.dashboard_csv(dashboard), f"indicateurs-{scope.start}-{scope.end}.csv",
                     "text/csv; charset=utf-8")


@bp.route("/donnees-ouvertes.csv")
@access(*DASHBOARD)
@reads_from_replica
def open_data():
    scope, _ = _dashboard_or_400(compute=False)
    try:
        f = whole_months(scope.filter)
    except ValidationFailed as error:
        abort(400, error.message)
    scope = Scope(db.session, current_user, f)
    dashboard = _dashboard(scope)
    return _download(exports.open_data_csv(dashboard, scope.start, scope.end),
                     f"statistiques-communes-{scope.start}-{scope.end}.csv", "text/csv; charset=utf-8")


@bp.route("/activites.<fmt>")
@access(*STAFF)
@reads_from_replica
def export_activities(fmt: str):
    """The activities of the filters, one row per accompagnement, in the national column order,
    without the beneficiary's name nor the notes (the cases domain's export)."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    from mediation.audit.services import record
    from mediation.cases import exports as case_exports
    from mediation.cases.models import Activity

    scope, _, _ = _scope_from_request()
    if scope is None:
        abort(400, "Filtres invalides.")
    query = sa.select(Activity).where(scope.activity_clause())
    # Anonymised for every role (evaluation policy): never the beneficiary's name nor the notes.
    export = case_exports.export_activities(db.session, current_user, query, scope.describe(),
                                            include_identity=False)
    name = f"activites-anonymisees-{scope.start}-{scope.end}"
    # The rows are read now, into a spooled temporary file (memory bounded, then disk): the download
    # streams that file, with no database access once the request is over. The export is recorded
    # after the reading (the same transaction): a write first would send the reads to the primary.
    if fmt == "csv":
        response = _download(case_exports.write_csv(export), f"{name}.csv", "text/csv")
    else:
        response = _download(case_exports.write_xlsx(export), f"{name}.xlsx",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    record(db.session, "export.activities", actor=current_user, details={"filters": scope.filter.query_args(),
                                                                         "format": fmt, "from": "evaluation"})
    return response


# --- reports ------------------------------------------------------------------------------------

@bp.route("/rapports", methods=["GET", "POST"])
@access(*DASHBOARD)
def reports():
    form = ReportRequestForm()
    if request.method == "POST":
        if form.validate_on_submit():
            from urllib.parse import parse_qs

            raw = {k: v[0] for k, v in parse_qs(form.filters.data or "").items()}
            try:
                f = parse_filter(raw)
                compare = raw.get("comparer") if policy.can_compare(current_user) else None
                job = report.start_report(db.session, current_user, f, form.format.data,
                                          compare=compare if compare in indicators.COMPARE_DIMENSIONS else None)
            except DomainError as error:
                flash(error.message, "error")
            else:
                return redirect(url_for("jobs.job_detail", job_id=job.id))
        else:
            flash("Choisissez le document à produire.", "error")
    page = paginate(db.session, policy.visible_reports(current_user).order_by(ReportFile.id.desc()), page_arg(request.args), 25)
    return render_template("evaluation/reports.html", page=page, form=form,
                           page_url=lambda p: url_for("evaluation.reports", page=p))


@bp.route("/rapports/<int:report_id>.<fmt>")
@access(*DASHBOARD)
def report_download(report_id: int, fmt: str):
    found = db.session.scalar(policy.visible_reports(current_user).where(ReportFile.id == report_id))
    if found is None or found.format.value != fmt:
        abort(404)
    return _download(found.content, found.filename, found.mimetype)


# --- programmes and funders ---------------------------------------------------------------------

@bp.route("/programmes")
@access(*DASHBOARD)
def programme_list():
    programmes = db.session.scalars(policy.visible_programmes(current_user)
                                    .options(selectinload(Programme.funder), selectinload(Programme.territory))
                                    .order_by(Programme.starts_on.desc(), Programme.name)).all()
    editable = set(db.session.scalars(policy.editable_programmes(current_user).with_only_columns(Programme.id)))
    return render_template("evaluation/programme_list.html", programmes=programmes, editable=editable,
                           can_create=current_user.role in MANAGERS,
                           can_manage_funders=policy.can_manage_funders(current_user))


@bp.route("/programmes/<int:programme_id>")
@access(*DASHBOARD)
def programme_detail(programme_id: int):
    programme = found_or_404(policy.get_programme(db.session, current_user, programme_id))
    editable = policy.get_programme_for_edit(db.session, current_user, programme_id) is not None
    return render_template(
        "evaluation/programme_detail.html", programme=programme, editable=editable,
        show_people=current_user.role != Role.FUNDER,
        attributed=services.attributed_activities(db.session, programme) if editable else [],
        form=AttributionForm(), remove_form=EmptyForm())


def _programme_form(form: ProgrammeForm) -> None:
    session = db.session
    form.funder_id.choices = [SelectChoice(f.id, f.name) for f in session.scalars(policy.visible_funders(current_user).order_by(Funder.name))]
    territories = sa.select(Territory).order_by(Territory.name)
    if current_user.role == Role.COORDINATOR:
        territories = territories.where(Territory.id == current_user.territory_id)
        form.territory_id.choices = [SelectChoice(t.id, t.name) for t in session.scalars(territories)]
    else:
        form.territory_id.choices = [SelectChoice("", "Aucun (programme national)")] + [
            SelectChoice(t.id, t.name) for t in session.scalars(territories)]
    # thousands of structures and mediators in a national network: the lists become searches
    pick_list(form.structure_ids, session, PickSource(policy.pickable_structures(current_user), Structure.id,
                                                      Structure.name), noun="structures")
    mediators = sa.select(User).where(User.role == Role.MEDIATOR).order_by(User.last_name, User.first_name, User.id)
    if current_user.role == Role.COORDINATOR:
        mediators = mediators.where(User.id.in_(sa.select(StaffMembership.user_id).where(
            StaffMembership.structure_id.in_(policy.dashboard_structures(current_user)))))
    pick_list(form.mediator_ids, session, PickSource(mediators, User.id, User.last_name, searched=(User.first_name,),
                                                     format=lambda r: f"{r[2]} {r[1]}"),
              noun="médiateurs et médiatrices")


def _save_programme(programme: Programme | None):
    form = ProgrammeForm(obj=programme) if request.method == "GET" and programme else ProgrammeForm()
    if request.method == "GET" and programme:
        form.structure_ids.data = [s.id for s in programme.structures]
        form.mediator_ids.data = [m.id for m in programme.mediators]
    _programme_form(form)
    if request.method == "POST" and not searching(form):
        form.validate()
        data = form.to_input()
        try:
            saved = services.save_programme(db.session, current_user, data, programme)
        except DomainError as error:
            show_domain_error(form, error)
        else:
            flash(f"Le programme « {saved.name} » est enregistré.", "success")
            return redirect(url_for("evaluation.programme_detail", programme_id=saved.id))
        return render_template("evaluation/programme_form.html", form=form, programme=programme), 422
    return render_template("evaluation/programme_form.html", form=form, programme=programme)


@bp.route("/programmes/nouveau", methods=["GET", "POST"])
@access(*MANAGERS)
def programme_new():
    return _save_programme(None)


@bp.route("/programmes/<int:programme_id>/modifier", methods=["GET", "POST"])
@access(*MANAGERS)
def programme_edit(programme_id: int):
    programme = found_or_404(policy.get_programme_for_edit(db.session, current_user, programme_id))
    return _save_programme(programme)


@bp.route("/programmes/<int:programme_id>/attributions", methods=["POST"])
@access(*MANAGERS)
def programme_attribute(programme_id: int):
    programme = found_or_404(policy.get_programme_for_edit(db.session, current_user, programme_id))
    form = AttributionForm()
    if form.validate_on_submit():
        try:
            activity = services.attribute_activity(db.session, current_user, programme, form.activity_id.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"L'activité n° {activity.id} compte désormais dans le programme.", "success")
    else:
        flash(next(iter(form.activity_id.errors), "Numéro d'activité invalide."), "error")
    return redirect(url_for("evaluation.programme_detail", programme_id=programme.id))


@bp.route("/programmes/<int:programme_id>/attributions/<int:activity_id>/retrait", methods=["POST"])
@access(*MANAGERS)
def programme_unattribute(programme_id: int, activity_id: int):
    programme = found_or_404(policy.get_programme_for_edit(db.session, current_user, programme_id))
    if EmptyForm().validate_on_submit():
        try:
            services.remove_attribution(db.session, current_user, programme, activity_id)
        except NotFound:
            abort(404)
        flash(f"L'activité n° {activity_id} ne compte plus explicitement dans le programme.", "success")
    return redirect(url_for("evaluation.programme_detail", programme_id=programme.id))


@bp.route("/financeurs", methods=["GET", "POST"])
@access(Role.ADMIN)
def funder_list():
    form = FunderForm()
    status = 200
    if form.validate_on_submit():
        try:
            funder = services.create_funder(db.session, current_user, form.name.data, form.kind.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"Le financeur « {funder.name} » est créé.", "success")
            return redirect(url_for("evaluation.funder_list"))
    elif request.method == "POST":
        status = 422
    funders = db.session.scalars(sa.select(Funder).options(selectinload(Funder.programmes)).order_by(Funder.name)).all()
    accounts = db.session.scalars(sa.select(User).where(User.role == Role.FUNDER).order_by(User.last_name)).all()
    link_form = LinkAccountForm()
    link_form.user_id.choices = [SelectChoice(u.id, f"{u.full_name} ({u.email})") for u in accounts]
    return render_template("evaluation/funder_list.html", form=form, funders=funders, accounts=accounts,
                           link_form=link_form), status


@bp.route("/financeurs/<int:funder_id>/comptes", methods=["POST"])
@access(Role.ADMIN)
def funder_link(funder_id: int):
    funder = found_or_404(db.session.get(Funder, funder_id))
    form = LinkAccountForm()
    if form.validate_on_submit():
        try:
            user = services.link_funder_account(db.session, current_user, funder,
                                                db.session.get(User, form.user_id.data))
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"Le compte {de(user.full_name)} voit désormais les programmes de « {funder.name} ».", "success")
    else:
        flash("Choisissez un compte de financeur.", "error")
    return redirect(url_for("evaluation.funder_list"))


# --- follow-up calls ----------------------------------------------------------------------------

@bp.route("/relances")
@access(*STAFF)
def follow_up_list():
    show_all = request.args.get("toutes") == "1"
    query = services.due_follow_ups(current_user, include_closed=show_all).options(
        selectinload(FollowUp.structure), selectinload(FollowUp.case))
    page = paginate(db.session, query, page_arg(request.args), 25)
    return render_template("evaluation/follow_up_list.html", page=page, show_all=show_all,
                           can_record=policy.can_record_follow_up(current_user), person_label=_person_label,
                           page_url=lambda p: url_for("evaluation.follow_up_list", page=p,
                                                      **({"toutes": "1"} if show_all else {})))


@bp.route("/relances/<int:follow_up_id>", methods=["GET", "POST"])
@access(*STAFF)
def follow_up_record(follow_up_id: int):
    follow_up = found_or_404(services.get_follow_up(db.session, current_user, follow_up_id))
    form = FollowUpForm()
    if request.method == "POST":
        if not policy.can_record_follow_up(current_user):
            abort(403)
        if form.validate_on_submit():
            answers = services.FollowUpAnswers(
                status=form.status.data, online_alone=yes_no(form.online_alone.data),
                job_or_training=yes_no(form.job_or_training.data), less_isolated=yes_no(form.less_isolated.data),
                comfort_now=int(form.comfort_now.data) if form.comfort_now.data else None)
            try:
                services.record_follow_up(db.session, current_user, follow_up, answers)
            except DomainError as error:
                show_domain_error(form, error)
            else:
                flash("Les réponses à la relance sont enregistrées.", "success")
                return redirect(url_for("evaluation.follow_up_list"))
        return render_template("evaluation/follow_up_form.html", form=form, follow_up=follow_up, can_record=True,
                               person_label=_person_label, phone=_phone(follow_up)), 422
    return render_template("evaluation/follow_up_form.html", form=form, follow_up=follow_up,
                           can_record=policy.can_record_follow_up(current_user) and follow_up.is_open,
                           person_label=_person_label, phone=_phone(follow_up))


def _person_label(beneficiary) -> str:
    from mediation.cases import policy as cases_policy

    return cases_policy.beneficiary_label(current_user, beneficiary)


def _phone(follow_up: FollowUp) -> str | None:
    """The person's phone number, for the mediator who calls (nobody else sees it)."""
    from mediation.cases import policy as cases_policy

    if not cases_policy.can_see_identity(current_user):
        return None
    return follow_up.case.beneficiary.phone


__all__ = ["bp", "ReportFormat"]
