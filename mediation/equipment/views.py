"""Pages of the equipment library: inventory, a device, a handover (loan, gift, purchase), the
« remettre un appareil » step of a session, returns, signed agreements, transfers, write-offs,
reminders and exports. Each handler loads through the user's scope (policy.py), acts through a
service and renders; an out-of-scope id is a 404.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from mediation.auth.models import Role
from mediation.cases import policy as cases_policy
from mediation.cases.activities import mediator_structures
from mediation.cases.enums import EquipmentKind
from mediation.cases.models import Activity, Beneficiary, Participation
from mediation.directory.models import Structure
from mediation.downloads import file_response
from mediation.equipment import exports, policy, services
from mediation.equipment.enums import DeviceCondition, DeviceStatus
from mediation.equipment.forms import (
    ConditionForm,
    DeviceForm,
    HandoverForm,
    ReturnForm,
    ScanForm,
    TransferForm,
    WriteOffForm,
)
from mediation.equipment.models import Device, Handover
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import BaseForm, ListFilter, PickSource, list_filter, show_domain_error
from mediation.jobs import enqueue
from mediation.pagination import page_arg, paginate
from mediation.policy import access, found_or_404
from mediation.types import local_today
from mediation.uploads import SCAN_MAX_BYTES

bp = Blueprint("equipment", __name__, url_prefix="/materiel")

STAFF = policy.STAFF
SCAN_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


@bp.app_template_global("activity_equipment")
def activity_equipment(activity) -> dict:
    """For the activity page (cases): the devices handed over during this session, and whether the
    mediator may hand one over now — given by this domain so that cases need not know it."""
    handovers = services.handovers_of_activity(db.session, activity.id)
    offer = (cases_policy.can_edit_activity(current_user, activity) and not activity.is_deleted
             and any(not p.beneficiary.anonymous for p in activity.participations))
    return {"handovers": handovers, "offer": offer}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 18 else None


def _structure_filter(args) -> ListFilter:
    """The inventory's structure: a list, or a part of the name in a network of thousands."""
    source = PickSource(policy.scope_structures_query(current_user), Structure.id, Structure.name)
    return list_filter(db.session, source, args, name="structure", label="Structure", all_label="Toutes")


def _filtered(args) -> tuple[sa.Select, dict]:
    query = policy.visible_devices(current_user)
    structure = _structure_filter(args)
    filters = {"structure": structure.chosen, "etat": args.get("etat") or "", "structure_filter": structure}
    query = query.where(*structure.clauses(Device.structure_id))
    if filters["etat"] in {s.value for s in DeviceStatus}:
        query = query.where(Device.status == filters["etat"])
    else:
        filters["etat"] = ""
    return query, filters


@bp.route("/")
@access(*STAFF)
def index():
    """The inventory of the structures in scope, the loans overdue first."""
    query, filters = _filtered(request.args)
    page = paginate(db.session, query.options(joinedload(Device.structure))
                    .order_by(Device.status, Device.kind, Device.model, Device.id), page_arg(request.args), 50)
    today = local_today()
    overdue = db.session.scalars(services.overdue_loans(policy.visible_handovers(current_user), today)
                                 .options(joinedload(Handover.device), joinedload(Handover.beneficiary))
                                 .order_by(Handover.due_on)).all()
    return render_template("equipment/index.html", page=page, filters=filters, overdue=overdue, today=today,
                           statuses=list(DeviceStatus),
                           can_add=policy.can_hand_over(current_user), button=BaseForm(),
                           label=lambda h: policy.beneficiary_label(current_user, h),
                           page_url=lambda n: url_for("equipment.index", page=n, etat=filters["etat"],
                                                      **filters["structure_filter"].args()))


@bp.route("/nouveau", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def device_new():
    form = DeviceForm()
    structures = mediator_structures(db.session, current_user)
    form.structure_id.choices = [(s.id, s.name) for s in structures]
    if request.method == "GET" and len(structures) == 1:
        form.structure_id.data = structures[0].id
    status = 200
    if form.validate_on_submit():
        try:
            device = services.add_device(db.session, current_user, form.to_input())
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"{device.label} ajouté à l’inventaire.", "success")
            return redirect(url_for("equipment.device_detail", device_id=device.id))
    return render_template("equipment/device_form.html", form=form), status


def _device(device_id: int) -> Device:
    return found_or_404(policy.get_device(db.session, current_user, device_id, joinedload(Device.structure)))


@bp.route("/<int:device_id>")
@access(*STAFF)
def device_detail(device_id: int):
    device = _device(device_id)
    handovers = db.session.scalars(policy.visible_handovers(current_user).where(Handover.device_id == device.id)
                                   .options(joinedload(Handover.beneficiary)).order_by(Handover.id.desc())).all()
    transfer_form = TransferForm()
    transfer_form.structure_id.choices = [(s.id, s.name) for s in policy.transfer_targets(db.session, current_user,
                                                                                          device)]
    condition_form = ConditionForm(condition=device.condition.value)
    return render_template("equipment/device_detail.html", device=device, handovers=handovers, today=local_today(),
                           can_hand_over=policy.can_hand_over(current_user), transfer_form=transfer_form,
                           can_transfer=policy.can_transfer(current_user), write_off_form=WriteOffForm(),
                           can_write_off=policy.can_write_off(current_user), condition_form=condition_form,
                           label=lambda h: policy.beneficiary_label(current_user, h))


def _people_for(structure_ids: set[int], activity: Activity | None) -> list[Beneficiary]:
    """Who may receive a device: the followed participants of the session, else the followed people
    of the mediator's structures (by name)."""
    if activity is not None:
        return [p.beneficiary for p in activity.participations if not p.beneficiary.anonymous]
    return list(db.session.scalars(
        cases_policy.visible_beneficiaries(current_user).where(Beneficiary.anonymous.is_(False),
                                                               Beneficiary.owner_structure_id.in_(structure_ids))
        .order_by(Beneficiary.last_name, Beneficiary.first_name, Beneficiary.id).limit(500)))


@bp.route("/remise", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def hand_over():
    """Lend, give or sell a device — from a session (``?activite=``: the activity's structure, its
    participants, the kind it recorded) or from a device's page (``?appareil=``)."""
    activity = None
    activity_id = _int_arg("activite")
    if activity_id:
        activity = found_or_404(cases_policy.get_activity(
            db.session, current_user, activity_id,
            selectinload(Activity.participations).joinedload(Participation.beneficiary)))
        if activity.is_deleted:
            abort(404)
    device = None
    device_id = _int_arg("appareil")
    if device_id:
        device = _device(device_id)
    structures = {s.id for s in mediator_structures(db.session, current_user)}
    if activity is not None:
        structures &= {activity.structure_id}
    if device is not None:
        structures &= {device.structure_id}
    form = HandoverForm()
    devices = [d for sid in sorted(structures) for d in services.available_devices(db.session, sid)]
    form.device_id.choices = [(d.id, d.label) for d in devices]
    people = _people_for(structures, activity)
    form.beneficiary_id.choices = [(p.id, p.display_name) for p in people]
    if request.method == "GET":
        form.device_id.data = device.id if device else None
        form.beneficiary_id.data = people[0].id if len(people) == 1 else None
        form.kind.data = (activity.equipment_kind.value if activity is not None and activity.equipment_kind
                          else EquipmentKind.PRET.value)
    status = 200
    if form.validate_on_submit():
        try:
            handover = services.hand_over(
                db.session, current_user, form.to_input(activity.id if activity else None),
                visible_beneficiary=cases_policy.beneficiary_loader(db.session, current_user),
                visible_activity=lambda i: cases_policy.get_activity(db.session, current_user, int(i)))
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"{handover.kind.label} enregistré : imprimez la convention et faites-la signer.", "success")
            return redirect(url_for("equipment.handover_detail", handover_id=handover.id))
    return render_template("equipment/hand_over.html", form=form, activity=activity, device=device,
                           no_device=not devices, no_person=not people), status


def _handover(handover_id: int, *options) -> Handover:
    return found_or_404(policy.get_handover(db.session, current_user, handover_id,
                                            joinedload(Handover.device), joinedload(Handover.beneficiary),
                                            *options))


@bp.route("/remises/<int:handover_id>")
@access(*STAFF)
def handover_detail(handover_id: int):
    handover = _handover(handover_id, joinedload(Handover.structure), joinedload(Handover.created_by))
    mine = policy.can_hand_over(current_user)
    return render_template("equipment/handover_detail.html", h=handover, today=local_today(), mine=mine,
                           scan_extension=SCAN_EXTENSIONS.get(handover.signed_scan_type),
                           person=policy.beneficiary_label(current_user, handover),
                           scan_form=ScanForm(), price=services.format_price(handover.price_cents),
                           activity_visible=handover.activity_id is not None and cases_policy.get_activity(
                               db.session, current_user, handover.activity_id) is not None)


@bp.route("/remises/<int:handover_id>/convention.pdf")
@access(Role.MEDIATOR)
def agreement_pdf(handover_id: int):
    handover = _handover(handover_id, sa.orm.undefer(Handover.agreement_pdf))
    if handover.agreement_pdf is None:
        abort(404)
    return file_response(handover.agreement_pdf, f"convention-{handover.reference}.pdf", "application/pdf",
                         inline=True)


@bp.route("/remises/<int:handover_id>/convention-signee", methods=["POST"])
@access(Role.MEDIATOR)
def scan_upload(handover_id: int):
    handover = _handover(handover_id)
    form = ScanForm()
    status = 422
    if form.validate_on_submit():
        upload = form.scan.data
        data = upload.read(SCAN_MAX_BYTES + 1) if upload else None
        try:
            services.attach_signed_scan(db.session, current_user, handover, data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Convention signée enregistrée.", "success")
            return redirect(url_for("equipment.handover_detail", handover_id=handover.id))
    return render_template("equipment/scan.html", h=handover, form=form), status


@bp.route("/remises/<int:handover_id>/convention-signee.<any(pdf, jpg, png):extension>")
@access(Role.MEDIATOR)
def scan_download(handover_id: int, extension: str):
    handover = _handover(handover_id, sa.orm.undefer(Handover.signed_scan))
    if handover.signed_scan is None or SCAN_EXTENSIONS[handover.signed_scan_type] != extension:
        abort(404)
    return file_response(handover.signed_scan, f"convention-signee-{handover.reference}.{extension}",
                         handover.signed_scan_type, inline=True)


@bp.route("/remises/<int:handover_id>/retour", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def return_device(handover_id: int):
    handover = _handover(handover_id)
    if not handover.is_open_loan:
        flash("Ce prêt est déjà clos." if handover.is_loan else "Un don ou un achat solidaire ne se rend pas.",
              "error")
        return redirect(url_for("equipment.handover_detail", handover_id=handover.id))
    form = ReturnForm()
    if request.method == "GET":
        form.condition.data = handover.device.condition.value
    status = 200
    if form.validate_on_submit():
        try:
            services.return_device(db.session, current_user, handover, condition=form.condition.data,
                                   returned_on=form.returned_on.data, note=form.note.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            state = handover.return_condition
            flash(f"Retour enregistré ({state.label.lower()})."
                  + (" L’appareil ne sera plus proposé au prêt tant que son état n’est pas revu."
                     if state in (DeviceCondition.ENDOMMAGE, DeviceCondition.HORS_SERVICE) else ""), "success")
            return redirect(url_for("equipment.device_detail", device_id=handover.device_id))
    return render_template("equipment/return.html", h=handover, form=form,
                           person=policy.beneficiary_label(current_user, handover)), status


@bp.route("/<int:device_id>/etat", methods=["POST"])
@access(Role.MEDIATOR)
def set_condition(device_id: int):
    device = _device(device_id)
    form = ConditionForm()
    if form.validate_on_submit():
        try:
            services.set_condition(db.session, current_user, device, form.condition.data)
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("equipment.device_detail", device_id=device.id))
        flash(f"État enregistré : {device.condition.label.lower()}.", "success")
    return redirect(url_for("equipment.device_detail", device_id=device.id))


@bp.route("/<int:device_id>/transfert", methods=["POST"])
@access(Role.ADMIN, Role.COORDINATOR)
def transfer(device_id: int):
    device = _device(device_id)
    form = TransferForm()
    if form.validate_on_submit():
        try:
            services.transfer(db.session, current_user, device, form.structure_id.data)
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("equipment.device_detail", device_id=device.id))
        flash(f"Appareil transféré à {device.structure.name}.", "success")
    return redirect(url_for("equipment.device_detail", device_id=device.id))


@bp.route("/<int:device_id>/reforme", methods=["POST"])
@access(*STAFF)
def write_off(device_id: int):
    device = _device(device_id)
    form = WriteOffForm()
    if form.validate_on_submit():
        try:
            services.write_off(db.session, current_user, device, form.reason.data)
        except DomainError as error:
            flash(error.message, "error")
            return redirect(url_for("equipment.device_detail", device_id=device.id))
        flash("Appareil réformé : il ne figure plus parmi les appareils disponibles.", "success")
    return redirect(url_for("equipment.device_detail", device_id=device.id))


@bp.route("/rappels", methods=["POST"])
@access(*STAFF)
def reminders():
    """Send the reminders due now (the same job cron runs daily); the button sends ``confirmer``."""
    if not BaseForm().validate_on_submit() or request.form.get("confirmer") != "1":
        return redirect(url_for("equipment.index"))
    job = enqueue(db.session, "equipment.reminders", user=current_user,
                  params={"return_url": url_for("equipment.index")})
    return redirect(url_for("jobs.job_detail", job_id=job.id))


@bp.route("/inventaire.<any(csv, xlsx):extension>")
@access(*STAFF)
def export(extension: str):
    query, _ = _filtered(request.args)
    today = local_today()
    if extension == "xlsx":
        return file_response(exports.inventory_xlsx(db.session, query, today), f"materiel-{today}.xlsx",
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return file_response(exports.inventory_csv(db.session, query, today), f"materiel-{today}.csv", "text/csv")
