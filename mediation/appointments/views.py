"""Staff pages: book with a referral (the person present), the week's agenda of a place, an
appointment (cancel, move, attendance, ICS), a place's settings (offers, blocked time,
self-assessed services and their review).

Each handler loads through the user's scope (appointments/policy.py: out of scope is a 404), acts
through a service and renders; a refused action answers 422 and the request is rolled back.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from mediation.appointments import assessments, policy, services
from mediation.appointments.forms import AssessmentForm, BlockForm, BookForm, OfferForm, SlotForm
from mediation.appointments.models import Appointment, ServiceAssessment, SlotBlock
from mediation.appointments.slots import parse_key
from mediation.auth.models import Role
from mediation.directory.models import Structure
from mediation.directory.national_schema import SERVICES
from mediation.downloads import file_response
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import BaseForm, show_domain_error
from mediation.pathways import policy as pathways_policy
from mediation.pathways import referrals
from mediation.pathways.forms import opts
from mediation.policy import access, found_or_404
from mediation.types import LOCAL_TIMEZONE, local_today

bp = Blueprint("appointments", __name__, url_prefix="/rendez-vous")

STAFF = policy.STAFF


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _slot_choices(slots) -> list[tuple[str, str]]:
    from babel.dates import format_datetime

    return [(s.key, format_datetime(s.local_start, "EEEE d MMMM 'à' H'h'mm", locale="fr_FR", tzinfo=LOCAL_TIMEZONE)
             + (f" ({s.free} places)" if s.free > 1 else "")) for s in slots]


# --- book with a referral ---------------------------------------------------------------------

@bp.route("/dossiers/<int:case_id>/orienter", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def refer_and_book(case_id: int):
    """Refer the person and book a slot at the receiving place, in one step, with the person present."""
    case = found_or_404(pathways_policy.get_case(db.session, current_user, case_id))
    service = request.values.get("service") or ""
    service = service if service in SERVICES else ""
    acting = pathways_policy.acting_structures(db.session, current_user)
    exclude = {s.id for s in acting}
    places = [s for s in referrals.suggest(db.session, case, service or None, exclude=exclude, limit=30)
              if services.offer_for(db.session, s.structure.id, service or None)] if service else []
    place_id = _int(request.values.get("lieu"))
    chosen = next((p for p in places if p.structure.id == place_id), None)
    offer = services.offer_for(db.session, chosen.structure.id, service) if chosen else None
    form = BookForm()
    form.from_structure_id.choices = opts((s.id, s.name) for s in acting)
    if len(acting) == 1 and not form.from_structure_id.data:
        form.from_structure_id.data = str(acting[0].id)
    slots = services.next_free_slots(db.session, offer, limit=24) if offer else []
    slot_choices = _slot_choices(slots)
    form.slot.choices = opts(slot_choices)
    status = 200
    if request.method == "POST" and offer and form.validate_on_submit():
        try:
            referral = referrals.create_referral(db.session, current_user, case,
                                                 form.to_input(to_structure_id=chosen.structure.id, service=service))
            appointment = services.book(db.session, current_user, offer=offer, starts_at=parse_key(form.slot.data),
                                        case=case, referral=referral)
        except DomainError as error:
            status = show_domain_error(form, error, {"to_structure_id": "", "from_structure_id": "from_structure_id"})
        else:
            flash(f"Orientation envoyée et rendez-vous pris à « {chosen.structure.name} ».", "success")
            return redirect(url_for("appointments.detail", appointment_id=appointment.id))
    elif request.method == "POST":
        status = 422
        form.form_errors.append("Choisissez un service et un lieu qui prend des rendez-vous.")
    return render_template("appointments/refer_and_book.html", case=case, form=form, service=service,
                           services=SERVICES, places=places, chosen=chosen, offer=offer, slots=slots,
                           slot_choices=slot_choices), status


@bp.route("/orientations/<int:referral_id>/reserver", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def book_for_referral(referral_id: int):
    """Book a slot at the receiving place for a live referral (the place called the person back,
    or the sender books later): mediators of either side."""
    referral = found_or_404(pathways_policy.get_referral(db.session, current_user, referral_id))
    case = found_or_404(pathways_policy.get_case(db.session, current_user, referral.case_id))
    if not (pathways_policy.can_answer_referral(db.session, current_user, referral)
            or pathways_policy.can_cancel_referral(db.session, current_user, referral)):
        abort(403)
    offers = services.offers_of(db.session, referral.to_structure_id, active_only=True)
    wanted = request.values.get("service") or referral.service
    offer = next((o for o in offers if o.service == wanted), offers[0] if len(offers) == 1 else None)
    form = SlotForm()
    slot_choices = _slot_choices(services.next_free_slots(db.session, offer, limit=24)) if offer else []
    form.slot.choices = opts(slot_choices)
    status = 200
    if request.method == "POST" and offer and form.validate_on_submit():
        if not referral.is_live:
            form.form_errors.append("Cette orientation est close : elle ne prend plus de rendez-vous.")
            status = 422
        else:
            try:
                appointment = services.book(db.session, current_user, offer=offer, starts_at=parse_key(form.slot.data),
                                            case=case, referral=referral)
            except DomainError as error:
                status = show_domain_error(form, error)
            else:
                flash("Rendez-vous pris : la personne est prévenue.", "success")
                return redirect(url_for("appointments.detail", appointment_id=appointment.id))
    elif request.method == "POST":
        status = 422
        form.form_errors.append("Choisissez un service qui prend des rendez-vous.")
    return render_template("appointments/book_for_referral.html", referral=referral, offers=offers, offer=offer,
                           form=form, slot_choices=slot_choices), status


@bp.app_context_processor
def appointment_helpers():
    """For the referral page (pathways, a lower layer): the appointments booked with a referral."""
    def referral_appointments(referral_id: int):
        return services.of_referral(db.session, referral_id)

    return {"referral_appointments": referral_appointments}


# --- agenda -----------------------------------------------------------------------------------

def _monday(value: str | None) -> date:
    try:
        day = date.fromisoformat(value) if value else local_today()
    except ValueError:
        day = local_today()
    return services.week_of(day)


@bp.route("/")
@access(*STAFF)
def agenda():
    """The week's appointments of the user's places (one place, or all of a mediator's)."""
    places = policy.places(db.session, current_user)
    place_id = _int(request.args.get("lieu"))
    if place_id is not None and place_id not in {p.id for p in places}:
        abort(404)
    shown = [p for p in places if p.id == place_id] if place_id else (places if current_user.role == Role.MEDIATOR else [])
    monday = _monday(request.args.get("semaine"))
    items = services.agenda(db.session, [p.id for p in shown], monday) if shown else []
    days = [(monday + timedelta(days=n), [a for a in items if a.starts_at.astimezone(LOCAL_TIMEZONE).date()
                                           == monday + timedelta(days=n)]) for n in range(7)]
    return render_template("appointments/agenda.html", places=places, place_id=place_id, shown=shown, days=days,
                           monday=monday, previous=monday - timedelta(days=7), next=monday + timedelta(days=7),
                           count=len(items))


# --- one appointment --------------------------------------------------------------------------

def load(appointment_id: int) -> Appointment:
    return found_or_404(policy.get_appointment(
        db.session, current_user, appointment_id, joinedload(Appointment.structure).joinedload(Structure.commune),
        joinedload(Appointment.beneficiary), joinedload(Appointment.referral)))


@bp.route("/<int:appointment_id>")
@access(*STAFF)
def detail(appointment_id: int):
    appointment = load(appointment_id)
    return render_template(
        "appointments/detail.html", appointment=appointment, form=BaseForm(),
        can_change=policy.can_change(db.session, current_user, appointment) and appointment.is_live,
        can_attend=policy.can_record_attendance(db.session, current_user, appointment) and appointment.is_live)


@bp.route("/<int:appointment_id>/agenda.ics")
@access(*STAFF)
def ics(appointment_id: int):
    from mediation.appointments.messages import ics as ics_text

    appointment = load(appointment_id)
    return file_response(ics_text(appointment).encode(), f"rendez-vous-{appointment.id}.ics", "text/calendar")


ACTIONS = {
    "annuler": "Rendez-vous annulé : la personne est prévenue.",
    "venu": "Venue enregistrée : la séance est ajoutée aux activités et l’orientation est honorée.",
    "absent": "Absence enregistrée.",
}


@bp.route("/<int:appointment_id>/<action>", methods=["POST"])
@access(Role.MEDIATOR)
def act(appointment_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    appointment = load(appointment_id)
    if not BaseForm().validate_on_submit():
        return redirect(url_for("appointments.detail", appointment_id=appointment.id))
    try:
        if action == "annuler":
            services.cancel(db.session, current_user, appointment)
        else:
            services.record_attendance(db.session, current_user, appointment, attended=action == "venu")
    except DomainError as error:
        if error.status_code == 403:
            abort(403)
        flash(error.message, "error")
        return redirect(url_for("appointments.detail", appointment_id=appointment.id))
    flash(ACTIONS[action], "success")
    return redirect(url_for("appointments.detail", appointment_id=appointment.id))


@bp.route("/<int:appointment_id>/deplacer", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def move(appointment_id: int):
    appointment = load(appointment_id)
    if not policy.can_change(db.session, current_user, appointment):
        abort(403)
    form = SlotForm()
    slot_choices = _slot_choices(services.next_free_slots(db.session, appointment.offer, limit=24))
    form.slot.choices = opts(slot_choices)
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        try:
            new = services.move(db.session, current_user, appointment, parse_key(form.slot.data))
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Rendez-vous déplacé : la personne est prévenue.", "success")
            return redirect(url_for("appointments.detail", appointment_id=new.id))
    return render_template("appointments/move.html", appointment=appointment, form=form,
                           slot_choices=slot_choices), status


# --- a place's settings -----------------------------------------------------------------------

def load_place(structure_id: int) -> Structure:
    return found_or_404(policy.get_place(db.session, current_user, structure_id))


def _place_page(place: Structure, status: int = 200, **forms):
    first = datetime.now(LOCAL_TIMEZONE)
    return render_template(
        "appointments/place.html", place=place, offers=services.offers_of(db.session, place.id),
        blocks=services.blocks_of(db.session, place.id, first, first + timedelta(days=90)),
        assessments=assessments.of_place(db.session, place.id), can_publish=policy.can_publish_assessment(current_user),
        offer_form=forms.get("offer_form") or OfferForm(formdata=None),
        block_form=forms.get("block_form") or BlockForm(formdata=None),
        assessment_form=forms.get("assessment_form") or AssessmentForm(formdata=None), form=BaseForm()), status


@bp.route("/lieux/<int:structure_id>")
@access(*STAFF)
def place(structure_id: int):
    return _place_page(load_place(structure_id))


@bp.route("/lieux/<int:structure_id>/offres", methods=["POST"])
@access(*STAFF)
def offer_save(structure_id: int):
    place = load_place(structure_id)
    form = OfferForm()
    if form.validate_on_submit():
        try:
            services.save_offer(db.session, current_user, place, form.to_input())
        except DomainError as error:
            return _place_page(place, show_domain_error(form, error), offer_form=form)
        flash("Prise de rendez-vous enregistrée.", "success")
        return redirect(url_for("appointments.place", structure_id=place.id))
    return _place_page(place, 422, offer_form=form)


def _moment(day: str, clock: str) -> datetime | None:
    try:
        parsed = datetime.strptime(f"{day.strip()} {clock.strip()}", "%d/%m/%Y %H:%M")
    except ValueError:
        return None
    return parsed.replace(tzinfo=LOCAL_TIMEZONE)


@bp.route("/lieux/<int:structure_id>/plages", methods=["POST"])
@access(*STAFF)
def block_add(structure_id: int):
    place = load_place(structure_id)
    form = BlockForm()
    if form.validate_on_submit():
        day = form.day.data or ""
        if not re.fullmatch(r"\d{2}/\d{2}/\d{4}", day.strip()):
            form.day.errors = ["Une date au format JJ/MM/AAAA"]
            return _place_page(place, 422, block_form=form)
        try:
            services.block_time(db.session, current_user, place, _moment(day, form.start.data or ""),
                                _moment(day, form.end.data or ""), form.reason.data)
        except DomainError as error:
            return _place_page(place, show_domain_error(form, error, {"starts_at": "start", "ends_at": "end"}),
                               block_form=form)
        flash("Plage bloquée : aucun rendez-vous n’y sera proposé.", "success")
        return redirect(url_for("appointments.place", structure_id=place.id))
    return _place_page(place, 422, block_form=form)


@bp.route("/plages/<int:block_id>/supprimer", methods=["POST"])
@access(*STAFF)
def block_remove(block_id: int):
    block = found_or_404(db.session.get(SlotBlock, block_id))
    place = load_place(block.structure_id)
    if BaseForm().validate_on_submit():
        services.remove_block(db.session, current_user, block)
        flash("Plage débloquée.", "success")
    return redirect(url_for("appointments.place", structure_id=place.id))


@bp.route("/lieux/<int:structure_id>/services", methods=["POST"])
@access(*STAFF)
def assessment_save(structure_id: int):
    place = load_place(structure_id)
    form = AssessmentForm()
    if form.validate_on_submit():
        try:
            assessments.save(db.session, current_user, place, form.to_input())
        except DomainError as error:
            return _place_page(place, show_domain_error(form, error), assessment_form=form)
        flash("Service enregistré : il sera publié dans le guide après relecture par la coordination.", "success")
        return redirect(url_for("appointments.place", structure_id=place.id))
    return _place_page(place, 422, assessment_form=form)


@bp.route("/services/<int:assessment_id>/publier", methods=["POST"])
@access(Role.ADMIN, Role.COORDINATOR)
def assessment_publish(assessment_id: int):
    item = found_or_404(db.session.get(ServiceAssessment, assessment_id))
    place = load_place(item.structure_id)
    if BaseForm().validate_on_submit():
        assessments.publish(db.session, current_user, item)
        flash("Service relu et publié dans le guide.", "success")
    return redirect(url_for("appointments.place", structure_id=place.id))
