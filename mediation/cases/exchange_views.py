"""Pages of imports, exports, duplicates (merge and undo) and retention (the ``retention`` command is in
mediation.cases.cli).

Thin handlers: load through the user's scope (cases/policy.py), check the role, act through a
service (exchange, exports, duplicates, retention), render. An out-of-scope id is a 404.
Exports are POST forms: each one is recorded in the audit log (a GET never writes).
"""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from mediation.audit.services import record
from mediation.auth.models import Role
from mediation.cases import activities, duplicates, exchange, exports, policy, retention, tags
from mediation.cases.enums import ActivityType
from mediation.cases.exchange_forms import (
    ActivityExportForm,
    BeneficiaryExportForm,
    ConfirmForm,
    ImportForm,
    MergeForm,
    PersonalDataForm,
    RetentionForm,
    TeamImportForm,
)
from mediation.cases.exchange_models import ImportKind
from mediation.cases.models import Activity, Beneficiary
from mediation.cases.views import filtered_activities, list_filters, structure_source
from mediation.directory.models import Structure
from mediation.downloads import file_response
from mediation.errors import DomainError, NotFound
from mediation.extensions import db
from mediation.forms import PickSource, show_domain_error
from mediation.jobs import enqueue
from mediation.pagination import Page, page_arg
from mediation.policy import access
from mediation.types import local_today, utcnow

bp = Blueprint("cases_exchange", __name__, url_prefix="/echanges")

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
PAIRS_PER_PAGE = 25


@bp.route("/")
@access(*STAFF)
def index():
    return render_template("cases_exchange/index.html", is_mediator=policy.can_see_identity(current_user),
                           is_admin=current_user.role == Role.ADMIN,
                           can_import_team=current_user.role in (Role.COORDINATOR, Role.ADMIN))


# --- import -------------------------------------------------------------------------------------

def _import_structures():
    return activities.mediator_structures(db.session, current_user)


IMPORTERS = (Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN)


def _analyse_and_keep(structure, kind, content, filename, resolutions=None):
    """Analyse; a file without error is kept (with the names still to choose, if any)."""
    analysis = exchange.analyse(db.session, current_user, structure, kind, content, filename,
                                resolutions=resolutions)
    upload = None
    if not analysis.errors and analysis.plan is not None and (analysis.to_create or analysis.unresolved):
        upload = exchange.store_upload(db.session, current_user, structure, analysis, content, filename,
                                       resolutions)
    return analysis, upload


def _render_import(form, analysis, upload, status=200, team=False):
    return render_template("cases_exchange/import.html", form=form, analysis=analysis, upload=upload, team=team,
                           shown_errors=analysis.errors[:200] if analysis else [],
                           warning_groups=analysis.warning_groups if analysis else []), status


@bp.route("/import", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def import_file():
    """Step 1: send a file; every row is analysed, nothing is written."""
    status = 200
    form = ImportForm()
    structures = _import_structures()
    form.set_structures(structures)
    analysis = upload = None
    if not structures:
        flash("Vous n'êtes rattaché·e à aucune structure : demandez à votre coordination de vous rattacher.", "error")
    elif form.validate_on_submit():
        structure = db.session.get(Structure, form.structure_id.data)
        try:
            analysis, upload = _analyse_and_keep(structure, form.kind.data, form.file.data.read(),
                                                 form.file.data.filename)
        except DomainError as error:
            status = show_domain_error(form, error)
            analysis = None
    return _render_import(form, analysis, upload, status)


@bp.route("/import/equipe", methods=["GET", "POST"])
@access(Role.COORDINATOR, Role.ADMIN)
def import_team():
    """A coordinator's team export: each row is credited to its mediator (chosen on this page when
    the file's name is unknown or shared), never to the coordinator."""
    status = 200
    form = TeamImportForm()
    analysis = upload = None
    if form.validate_on_submit():
        try:
            analysis, upload = _analyse_and_keep(None, ImportKind.ACTIVITIES, form.file.data.read(),
                                                 form.file.data.filename)
        except DomainError as error:
            status = show_domain_error(form, error)
            analysis = None
    return _render_import(form, analysis, upload, status, team=True)


@bp.route("/import/<int:upload_id>/choix", methods=["POST"])
@access(*IMPORTERS)
def import_choices(upload_id: int):
    """The names chosen on the analysis page (mediators of a team export, homonyms): analysed again."""
    try:
        upload = exchange.get_upload(db.session, current_user, upload_id)
    except NotFound:
        abort(404)
    team = upload.structure_id is None
    form = TeamImportForm() if team else ImportForm()
    if not team:
        form.set_structures(_import_structures())
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("cases_exchange.import_team" if team else "cases_exchange.import_file"))
    structure = upload.structure
    analysis = exchange.analyse(db.session, current_user, structure, upload.kind, upload.data, upload.filename,
                                resolutions=upload.resolutions)
    resolutions = exchange.resolutions_from_form(analysis, request.form, upload.resolutions)
    content, filename, kind = upload.data, upload.filename, upload.kind
    exchange.discard_upload(db.session, upload)
    analysis, upload = _analyse_and_keep(structure, kind, content, filename, resolutions)
    return _render_import(form, analysis, upload, team=team)


@bp.route("/import/<int:upload_id>/appliquer", methods=["POST"])
@access(*IMPORTERS)
def import_apply(upload_id: int):
    """Step 2: the confirmed file becomes a job; its progress page follows."""
    try:
        upload = exchange.get_upload(db.session, current_user, upload_id)
    except NotFound:
        abort(404)
    back = url_for("cases_exchange.import_team" if upload.structure_id is None else "cases_exchange.import_file")
    if not ConfirmForm().validate_on_submit():
        return redirect(back)
    if (upload.summary or {}).get(exchange.PENDING_CHOICES):
        flash("Choisissez d'abord, sur la page d'analyse, à qui rattacher chaque nom signalé.", "error")
        return redirect(back)
    kind = upload.kind
    return_url = url_for("cases.activity_list") if kind == ImportKind.ACTIVITIES else url_for("cases.case_list")
    job = exchange.start_import(db.session, current_user, upload, return_url=return_url)
    return redirect(url_for("jobs.job_detail", job_id=job.id))


@bp.route("/import/<int:upload_id>/abandonner", methods=["POST"])
@access(*IMPORTERS)
def import_discard(upload_id: int):
    try:
        upload = exchange.get_upload(db.session, current_user, upload_id)
    except NotFound:
        abort(404)
    back = url_for("cases_exchange.import_team" if upload.structure_id is None else "cases_exchange.import_file")
    if ConfirmForm().validate_on_submit():
        exchange.discard_upload(db.session, upload)
        flash("Import abandonné : rien n'a été enregistré.", "success")
    return redirect(back)


# --- exports ------------------------------------------------------------------------------------

def _download(export_or_sheets, fmt: str, filename: str):
    if fmt == "csv":
        return file_response(exports.write_csv(export_or_sheets), f"{filename}.csv", "text/csv")
    return file_response(exports.write_xlsx(export_or_sheets), f"{filename}.xlsx", exchange.XLSX_MIMETYPE)


def _filter_labels(filters: dict, structures: PickSource) -> exports.ActivityFilterLabels:
    """The applied filters, in the rows of the national « Filtres » block."""
    chosen = structures.chosen(db.session, [str(filters["structure"])]) if filters["structure"] else []
    extra = [("Structure", chosen[0].label if chosen else "")] if filters["structure"] else []
    if filters.get("structure_nom"):
        extra.append(("Structure", f"nom contenant « {filters['structure_nom']} »"))
    chosen_tags = tags.tag_names(db.session, filters.get("tags") or [])
    return exports.ActivityFilterLabels(
        du=filters["du"], au=filters["au"],
        types=[ActivityType.label_of(filters["type"])] if filters["type"] else [],
        thematiques=[filters["thematique"]] if filters["thematique"] else [],
        tags=chosen_tags,
        extra=extra,
    )


@bp.route("/export/activites", methods=["GET", "POST"])
@access(*STAFF)
def export_activities():
    """Filters (pre-filled from the activity list's query string) and format, then the file."""
    structures = structure_source(current_user)
    form = ActivityExportForm(formdata=request.form if request.method == "POST" else request.args)
    form.set_structures(db.session, structures)
    form.set_tags(tags.filter_tags(db.session, current_user))
    if request.method == "POST" and form.validate_on_submit():
        filters = list_filters(request.form)
        query = filtered_activities(current_user, filters)
        self_export = exports.is_self_export(current_user)
        if self_export:  # as the national tool: a mediator exports their own activities
            query = query.where(Activity.mediator_id == current_user.id)
        export = exports.export_activities(db.session, current_user, query, _filter_labels(filters, structures),
                                           include_identity=self_export)
        record(db.session, "export.activities", actor=current_user,
               details={"format": form.format.data, "self_export": exports.is_self_export(current_user),
                        "filters": sorted(k for k, v in filters.items() if v)})
        return _download(export, form.format.data, export.filename)
    return render_template("cases_exchange/export_activities.html", form=form,
                           self_export=exports.is_self_export(current_user))


@bp.route("/export/beneficiaires", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def export_beneficiaries():
    form = BeneficiaryExportForm()
    if form.validate_on_submit():
        export = exports.export_beneficiaries(db.session, current_user, form.q.data)
        record(db.session, "export.beneficiaries", actor=current_user,
               details={"format": form.format.data, "search": bool(form.q.data)})
        return _download(export, form.format.data, export.filename)
    return render_template("cases_exchange/export_beneficiaries.html", form=form)


def _identified(beneficiary_id: int) -> Beneficiary:
    beneficiary = policy.get_beneficiary(db.session, current_user, beneficiary_id)
    if beneficiary is None or beneficiary.anonymous:
        abort(404)
    return beneficiary


@bp.route("/beneficiaires/<int:beneficiary_id>/donnees", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def personal_data(beneficiary_id: int):
    """Right of access: everything held on one person, to hand over to them."""
    beneficiary = _identified(beneficiary_id)
    form = PersonalDataForm()
    if form.validate_on_submit():
        data = exports.personal_data(db.session, beneficiary)
        record(db.session, "export.personal_data", actor=current_user, obj=beneficiary,
               structure_id=beneficiary.owner_structure_id, details={"format": form.format.data})
        filename = f"donnees-beneficiaire-{beneficiary.id}-{local_today().isoformat()}"
        if form.format.data == "json":
            body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
            return file_response(body, f"{filename}.json", "application/json")
        return _download(exports.personal_data_exports(current_user, data), "xlsx", filename)
    return render_template("cases_exchange/personal_data.html", form=form, beneficiary=beneficiary)


# --- duplicates and merges ----------------------------------------------------------------------

@bp.route("/doublons")
@access(Role.MEDIATOR)
def duplicate_list():
    pairs = duplicates.find_duplicate_pairs(db.session, current_user)
    number = page_arg(request.args)
    start = (number - 1) * PAIRS_PER_PAGE
    page = Page(items=pairs[start:start + PAIRS_PER_PAGE], page=number, per_page=PAIRS_PER_PAGE, total=len(pairs))
    records = duplicates.load_pair_records(db.session, page.items)
    return render_template("cases_exchange/duplicates.html", page=page, records=records,
                           page_url=lambda n: url_for("cases_exchange.duplicate_list", page=n))


@bp.route("/doublons/<int:first_id>/<int:second_id>", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def duplicate_merge(first_id: int, second_id: int):
    status = 200
    first, second = _identified(first_id), _identified(second_id)
    if first.id == second.id:
        abort(404)
    form = MergeForm()
    form.keep.choices = [SelectChoice(b.id, f"Fiche n° {b.id} — {b.display_name}") for b in (first, second)]
    if form.validate_on_submit():
        destination, source = (first, second) if form.keep.data == first.id else (second, first)
        try:
            merge = duplicates.merge_beneficiaries(db.session, current_user, destination, source)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            deadline = duplicates.undo_deadline(merge)
            flash(f"Fiches fusionnées : la fiche n° {source.id} est rattachée à la fiche n° {destination.id}. "
                  f"Vous pouvez annuler cette fusion jusqu'au {deadline.strftime('%d/%m/%Y')}.", "success")
            return redirect(url_for("cases_exchange.merge_list"))
    criteria = duplicates.find_duplicate_pairs(db.session, current_user, beneficiary_id=first.id)
    pair = next((p for p in criteria if {p.first_id, p.second_id} == {first.id, second.id}), None)
    return render_template("cases_exchange/merge.html", form=form, first=first, second=second, pair=pair,
                           filled_first=duplicates.merge_preview(first, second),
                           filled_second=duplicates.merge_preview(second, first)), status


@bp.route("/fusions")
@access(Role.MEDIATOR)
def merge_list():
    merges = duplicates.recent_merges(db.session, current_user)
    now = utcnow()
    return render_template("cases_exchange/merges.html", merges=merges,
                           undoable={m.id for m in merges if duplicates.can_undo(m, now)},
                           deadline=duplicates.undo_deadline)


@bp.route("/fusions/<int:merge_id>/annuler", methods=["POST"])
@access(Role.MEDIATOR)
def merge_undo(merge_id: int):
    try:
        merge = duplicates.get_merge(db.session, current_user, merge_id)
    except NotFound:
        abort(404)
    if ConfirmForm().validate_on_submit():
        try:
            source = duplicates.undo_merge(db.session, current_user, merge)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"Fusion annulée : la fiche n° {source.id} est de nouveau séparée.", "success")
    return redirect(url_for("cases_exchange.merge_list"))


# --- retention ----------------------------------------------------------------------------------

@bp.route("/conservation", methods=["GET", "POST"])
@access(Role.ADMIN)
def retention_page():
    """Administrators see what is due and may run the anonymisation now (a job)."""
    months = retention.retention_months()
    form = RetentionForm()
    if form.validate_on_submit():
        job = enqueue(db.session, "cases.retention", user=current_user,
                      params={"months": months, "return_url": url_for("cases_exchange.retention_page")})
        return redirect(url_for("jobs.job_detail", job_id=job.id))
    report = retention.run_retention(db.session, months=months, apply=False)
    return render_template("cases_exchange/retention.html", report=report, form=form)

