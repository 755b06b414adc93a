"""Pages of a person's pathway (enrolment, diagnosis, validations, progress), referrals,
reassignment (single and bulk), loans and the pathways home. Template design pages are in
:mod:`mediation.pathways.design_views` (same blueprint).

Each handler loads through the user's scope (pathways/policy.py: out of scope is a 404), checks
the policy, acts through a service and renders. After a refused action the request is rolled back.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from mediation.auth.models import Role, User
from mediation.cases import policy as case_policy
from mediation.cases.enums import CaseState, ConsentScope
from mediation.cases.models import Beneficiary, Case, Consent
from mediation.directory import loans, notifications
from mediation.directory.models import Commune, Loan, Structure
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import BaseForm, PickSource, list_filter, pick_list, show_domain_error
from mediation.pagination import page_arg, paginate
from mediation.pathways import policy, reassignment, referrals, services
from mediation.pathways.enums import (
    COMFORT_LABELS,
    AssessmentMoment,
    AutonomyDomain,
    Equipment,
    ReferralStatus,
)
from mediation.pathways.forms import (
    AssessmentForm,
    BulkReassignForm,
    DeclineForm,
    EnrolForm,
    LoanForm,
    ReferralForm,
    SingleReassignForm,
    ValidationForm,
    opts,
)
from mediation.pathways.models import CaseTransfer, Enrolment, Referral
from mediation.policy import access, found_or_404
from mediation.types import local_today

bp = Blueprint("pathways", __name__, url_prefix="/parcours")

STAFF = policy.STAFF
MANAGERS = policy.MANAGERS


def _structure_choices(structures) -> list:
    return opts((s.id, s.name) for s in structures)


def _acting(form_field) -> list[Structure]:
    structures = policy.acting_structures(db.session, current_user)
    form_field.choices = _structure_choices(structures)
    if len(structures) == 1 and not form_field.data:
        form_field.data = str(structures[0].id)
    return structures


def load_case(case_id: int) -> Case:
    return found_or_404(policy.get_case(db.session, current_user, case_id,
                                  joinedload(Case.beneficiary).joinedload(Beneficiary.residence_commune),
                                  joinedload(Case.structure).joinedload(Structure.commune),
                                  joinedload(Case.mediator)))


def actionable_case(case_id: int) -> Case:
    case = load_case(case_id)
    if not policy.can_act_on_pathway(current_user):
        abort(403)
    return case


# --- home ---------------------------------------------------------------------------------------

@bp.route("")
@access(*STAFF)
def index():
    user = current_user
    recent_transfers = []
    if user.role in MANAGERS:
        scope = policy.referral_structures(user)
        query = (sa.select(CaseTransfer).options(joinedload(CaseTransfer.from_structure),
                                                 joinedload(CaseTransfer.to_structure))
                 .order_by(CaseTransfer.transferred_at.desc(), CaseTransfer.id.desc()).limit(10))
        if scope is not None:
            query = query.where(sa.or_(CaseTransfer.from_structure_id.in_(scope),
                                       CaseTransfer.to_structure_id.in_(scope)))
        recent_transfers = db.session.scalars(query).all()
    return render_template(
        "pathways/index.html", notices=notifications.unread_for(db.session, user),
        pending=referrals.pending_count(db.session, user), recent_transfers=recent_transfers,
        structures=policy.acting_structures(db.session, user), is_manager=user.role in MANAGERS,
        my_loans=loans.active_loans(db.session, mediator_id=user.id) if user.role == Role.MEDIATOR else [],
        form=BaseForm(),
    )


@bp.route("/notifications/lues", methods=["POST"])
@access(Role.MEDIATOR)
def notifications_read():
    if BaseForm().validate_on_submit():
        count = notifications.mark_all_read(db.session, current_user)
        flash(f"{count} notification{'s' if count > 1 else ''} marquée{'s' if count > 1 else ''} comme lue"
              f"{'s' if count > 1 else ''}.", "success")
    return redirect(url_for("pathways.index"))


# --- a person's pathway -------------------------------------------------------------------------

def _network_territories(case: Case) -> list[int]:
    ids = db.session.scalars(
        sa.select(Commune.territory_id).join(Structure, Structure.commune_id == Commune.id)
        .join(Consent, Consent.structure_id == Structure.id)
        .where(Consent.beneficiary_id == case.beneficiary_id, Consent.scope == ConsentScope.RESEAU,
               Consent.withdrawn_at.is_(None)).distinct())
    return list(ids)


@bp.route("/dossiers/<int:case_id>")
@access(*STAFF)
def case_pathway(case_id: int):
    case = load_case(case_id)
    user = current_user
    enrolments = services.enrolments_of(db.session, case)
    progresses = [services.compute_progress(db.session, e) for e in enrolments]
    followed = {e.template_id for e in enrolments if e.state.value == "en_cours"}
    can_act = policy.can_act_on_pathway(user) and not case.is_closed
    enrol_form = EnrolForm()
    if can_act:
        enrol_form.template_id.choices = opts((t.id, t.name) for t in policy.templates_for_case(db.session, case)
                                              if t.id not in followed)
        _acting(enrol_form.structure_id)
    structures = policy.acting_structures(db.session, user)
    offered = {service for s in structures for service in (s.services or [])}
    assessments = services.assessments_of(db.session, case)
    return render_template(
        "pathways/case.html", case=case, progresses=progresses, can_act=can_act,
        can_reassign=policy.can_reassign(user, case), enrol_form=enrol_form,
        assessments=assessments, comparison=services.compare(assessments), domains=list(AutonomyDomain),
        equipment_label=Equipment.label_of, comfort_labels=COMFORT_LABELS, need_labels=services.need_labels,
        referrals=referrals.of_case(db.session, case), transfers=reassignment.history(db.session, case),
        show_notes=case_policy.can_see_notes(user), offered_services=offered,
        network_consent=bool(_network_territories(case)), form=BaseForm(),
        case_page=case_policy.get_case(db.session, user, case.id) is not None,
    )


@bp.route("/dossiers/<int:case_id>/inscription", methods=["POST"])
@access(Role.MEDIATOR)
def enrol(case_id: int):
    case = actionable_case(case_id)
    form = EnrolForm()
    if form.validate_on_submit():
        template = policy.get_template(db.session, current_user, int(form.template_id.data or 0))
        try:
            if template is None:
                raise DomainError("Veuillez choisir un parcours.", field="template_id")
            services.enrol(db.session, current_user, case, template,
                           structure_id=int(form.structure_id.data) if form.structure_id.data else None)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"Inscription au parcours « {template.name} » enregistrée.", "success")
            if not services.assessments_of(db.session, case):
                return redirect(url_for("pathways.assessment_new", case_id=case.id))
    return redirect(url_for("pathways.case_pathway", case_id=case.id))


@bp.route("/inscriptions/<int:enrolment_id>/abandonner", methods=["POST"])
@access(Role.MEDIATOR)
def abandon(enrolment_id: int):
    enrolment = found_or_404(policy.get_enrolment(db.session, current_user, enrolment_id, joinedload(Enrolment.case)))
    if BaseForm().validate_on_submit():
        try:
            services.abandon(db.session, current_user, enrolment)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Parcours arrêté : les étapes validées restent dans le dossier.", "success")
    return redirect(url_for("pathways.case_pathway", case_id=enrolment.case_id))


@bp.route("/dossiers/<int:case_id>/diagnostic", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def assessment_new(case_id: int):
    status = 200
    case = actionable_case(case_id)
    form = AssessmentForm()
    _acting(form.structure_id)
    previous = services.assessments_of(db.session, case)
    if request.method == "GET":
        form.moment.data = services.default_moment(db.session, case).value
        if previous:
            form.fill_from(previous[-1])
    elif form.validate_on_submit():
        try:
            services.record_assessment(db.session, current_user, case, form.to_input())
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Diagnostic enregistré.", "success")
            return redirect(url_for("pathways.case_pathway", case_id=case.id, _anchor="diagnostic"))
    return render_template("pathways/assessment_form.html", case=case, form=form, previous=previous[-1]
                           if previous else None, moments=AssessmentMoment), status


@bp.route("/inscriptions/<int:enrolment_id>/etapes/<int:milestone_id>/valider", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def validate(enrolment_id: int, milestone_id: int):
    status = 200
    enrolment = found_or_404(policy.get_enrolment(db.session, current_user, enrolment_id,
                                            joinedload(Enrolment.template), joinedload(Enrolment.case)))
    case = load_case(enrolment.case_id)
    progress = services.compute_progress(db.session, enrolment)
    step = found_or_404(progress.state_of(milestone_id))
    form = ValidationForm()
    _acting(form.structure_id)
    form.activity_id.choices = opts([("", "— Aucune —")] + [
        (a.id, f"{a.date.strftime('%d/%m/%Y')} — {a.type.label} — {a.structure.name}")
        for a in services.person_activities(db.session, case)])
    if form.validate_on_submit():
        try:
            before = progress.levels_done
            services.validate_milestone(db.session, current_user, enrolment, form.to_input(milestone_id))
        except DomainError as error:
            status = show_domain_error(form, error, {"milestone_id": ""})
        else:
            flash(f"Étape « {step.milestone.title} » validée.", "success")
            after = services.compute_progress(db.session, enrolment)
            if after.levels_done > before:
                flash("Niveau atteint : toutes ses étapes sont validées.", "success")
            if after.completed:
                flash("Parcours terminé ! Faites le bilan de fin de parcours (diagnostic).", "success")
            return redirect(url_for("pathways.case_pathway", case_id=case.id, _anchor=f"parcours-{enrolment.id}"))
    return render_template("pathways/validate.html", case=case, enrolment=enrolment, step=step, form=form), status


@bp.route("/dossiers/<int:case_id>/orienter", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def refer(case_id: int):
    status = 200
    case = actionable_case(case_id)
    form = ReferralForm()
    _acting(form.from_structure_id)
    steps = [(m.id, m.title) for m in referrals._live_milestones(db.session, case).values()]
    form.milestone_id.choices = opts([("", "Aucune en particulier"), *steps])
    if request.method == "GET":
        form.service.data = request.args.get("service", "")
        form.milestone_id.data = request.args.get("etape", "")
    latest = services.assessments_of(db.session, case)
    needs = latest[-1].accessibility if latest else []
    exclude = {int(c.value) for c in form.from_structure_id.choices}
    suggestions = referrals.suggest(db.session, case, form.service.data or None, exclude=exclude,
                                    accessibility=needs)
    form.to_structure_id.choices = opts((s.structure.id, s.structure.name) for s in suggestions)
    others = db.session.scalars(
        sa.select(Structure).join(Commune, Commune.id == Structure.commune_id)
        .where(Structure.archived_at.is_(None),
               Commune.territory_id.in_(referrals.network_territory_ids(db.session, case)),
               Structure.id.not_in(exclude | {case.structure_id}))
        .order_by(Structure.name)).all()
    form.other_structure_id.choices = opts([("", "— Aucune —")]) + _structure_choices(others)
    if request.method == "POST" and form.validate_on_submit():
        data = form.to_input()
        try:
            referral = referrals.create_referral(db.session, current_user, case, data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"Orientation vers « {referral.to_structure.name} » envoyée : la structure la verra dans ses "
                  "orientations reçues.", "success")
            return redirect(url_for("pathways.case_pathway", case_id=case.id, _anchor="orientations"))
    origin, origin_label = referrals.origin_of(case)
    return render_template("pathways/refer.html", case=case, form=form, suggestions=suggestions,
                           origin_label=origin_label if origin else None, delay=referrals.delay_days(),
                           network_consent=bool(_network_territories(case))), status


@bp.route("/dossiers/<int:case_id>/reaffecter", methods=["GET", "POST"])
@access(*MANAGERS)
def reassign(case_id: int):
    status = 200
    case = load_case(case_id)
    if not policy.can_reassign(current_user, case):
        abort(404)
    form = SingleReassignForm()
    _target_choices(form)
    if request.method == "GET":
        form.version.data = str(case.version)
    elif form.validate_on_submit():
        try:
            reassignment.reassign(db.session, current_user, case, target=reassignment.Target.parse(form.target.data),
                                  reason=form.reason.data, comment=form.comment.data,
                                  expected_version=int(form.version.data or -1),
                                  network_consent=bool(form.network_consent.data))
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"Dossier n° {case.id} confié à « {case.structure.name} ». Les deux structures sont prévenues.",
                  "success")
            return redirect(url_for("pathways.case_pathway", case_id=case.id))
    return render_template("pathways/reassign.html", case=case, form=form,
                           network_territories=_network_territories(case),
                           transfers=reassignment.history(db.session, case)), status


def _target_choices(form) -> None:
    pick_list(form.target, db.session, reassignment.TargetSource(current_user), blank="— Choisir —",
              noun="structures et référents")


# --- bulk reassignment --------------------------------------------------------------------------

@bp.route("/reaffectations", methods=["GET", "POST"])
@access(*MANAGERS)
def bulk_reassign():
    status = 200
    user = current_user
    # the filters: the structures and referents of the cases in view (a part of their names in a
    # network of thousands)
    structures = PickSource(sa.select(Structure).where(Structure.id.in_(
        case_policy.visible_cases(user).with_only_columns(Case.structure_id))).order_by(Structure.name, Structure.id),
        Structure.id, Structure.name)
    mediators = PickSource(sa.select(User).where(User.id.in_(
        case_policy.visible_cases(user).with_only_columns(Case.mediator_id).where(Case.mediator_id.is_not(None))))
        .order_by(User.last_name, User.first_name, User.id), User.id, User.last_name, searched=(User.first_name,),
        format=lambda r: f"{r[2]} {r[1]}")
    structure = list_filter(db.session, structures, request.args, name="structure",
                            label="Structure qui suit les dossiers", all_label="Toutes")
    mediator = list_filter(db.session, mediators, request.args, name="mediateur", label="Référent·e actuel·le",
                           all_label="Tous", hint="Une partie de son nom ou de son prénom.")
    query = (policy.shared_cases(user).where(Case.state != CaseState.CLOSED,
                                             *structure.clauses(Case.structure_id), *mediator.clauses(Case.mediator_id))
             .options(joinedload(Case.structure), joinedload(Case.mediator),
                      joinedload(Case.beneficiary).joinedload(Beneficiary.residence_commune))
             .order_by(Case.id))
    filtered = bool(structure.args() or mediator.args())
    consent = request.args.get("consentement") if request.args.get("consentement") in ("avec", "sans") else None
    if consent:
        consented = reassignment.network_consent_exists()
        query = query.where(consented if consent == "avec" else ~consented)
    cases = db.session.scalars(query.limit(reassignment.MAX_BULK)).all() if filtered else []
    listing = reassignment.bulk_listing(db.session, cases, with_progress=not case_policy.can_see_identity(user))
    form = BulkReassignForm()
    if cases:  # the structures and referents to hand them to: only with cases to hand
        _target_choices(form)
    form.cases.choices = opts((f"{c.id}:{c.version}", f"Dossier n° {c.id}") for c in cases)
    if request.method == "POST" and form.validate_on_submit():
        try:
            transfers = reassignment.bulk_reassign(db.session, user, form.seen_versions(),
                                                   target=reassignment.Target.parse(form.target.data),
                                                   reason=form.reason.data, comment=form.comment.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            n = len(transfers)
            flash(f"{n} dossier{'s' if n > 1 else ''} réaffecté{'s' if n > 1 else ''} à « "
                  f"{transfers[0].to_structure.name} ». Les structures sont prévenues.", "success")
            return redirect(url_for("pathways.bulk_reassign", consentement=consent, **structure.args(),
                                    **mediator.args()))
    return render_template("pathways/bulk_reassign.html", form=form, cases=cases, structure_filter=structure,
                           mediator_filter=mediator, filtered=filtered, consent=consent, listing=listing), status


# --- referrals ----------------------------------------------------------------------------------

@bp.route("/orientations")
@access(*STAFF)
def referral_list():
    direction = request.args.get("sens") if request.args.get("sens") in referrals.DIRECTIONS else "recues"
    status = request.args.get("statut") or None
    scope = policy.referral_structures(current_user)
    structure_query = sa.select(Structure).order_by(Structure.name, Structure.id)
    if scope is not None:
        structure_query = structure_query.where(Structure.id.in_(scope))
    structure = list_filter(db.session, PickSource(structure_query, Structure.id, Structure.name), request.args,
                            name="structure", label="Structure", all_label="Toutes")
    query = referrals.listing(current_user, direction=direction, structure_id=structure.chosen, status=status,
                              structures=structure.matching())
    page = paginate(db.session, query, page_arg(request.args), per_page=25)
    args = {k: v for k, v in {"sens": direction, "statut": status}.items() if v} | structure.args()
    return render_template(
        "pathways/referral_list.html", page=page, direction=direction, directions=referrals.DIRECTIONS,
        structure_filter=structure, status=status, statuses=ReferralStatus,
        delay=referrals.delay_days(), can_expire=current_user.role == Role.ADMIN, form=BaseForm(),
        sees_names=case_policy.can_see_identity(current_user),
        page_url=lambda n: url_for("pathways.referral_list", page=n, **args),
    )


def load_referral(referral_id: int) -> Referral:
    return found_or_404(policy.get_referral(db.session, current_user, referral_id,
                                      joinedload(Referral.case).joinedload(Case.beneficiary),
                                      joinedload(Referral.from_structure), joinedload(Referral.to_structure),
                                      joinedload(Referral.milestone)))


@bp.route("/orientations/<int:referral_id>")
@access(*STAFF)
def referral_detail(referral_id: int):
    referral = load_referral(referral_id)
    user = current_user
    shared = policy.get_case(db.session, user, referral.case_id) is not None
    return render_template(
        "pathways/referral_detail.html", referral=referral, decline_form=DeclineForm(), form=BaseForm(),
        can_answer=policy.can_answer_referral(db.session, user, referral),
        can_cancel=policy.can_cancel_referral(db.session, user, referral), case_visible=shared,
        show_notes=case_policy.can_see_notes(user),
        horaires=referrals.horaires_fr(referral.to_structure.horaires),
    )


REFERRAL_ACTIONS = {
    "accepter": "Orientation acceptée : le dossier est désormais suivi par votre structure.",
    "refuser": "Orientation refusée : la structure qui a orienté la personne est prévenue.",
    "annuler": "Orientation annulée.",
    "honoree": "Orientation marquée comme honorée.",
    "non-honoree": "Orientation marquée comme non honorée.",
}


@bp.route("/orientations/<int:referral_id>/<action>", methods=["POST"])
@access(Role.MEDIATOR)
def referral_action(referral_id: int, action: str):
    if action not in REFERRAL_ACTIONS:
        abort(404)
    referral = load_referral(referral_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return redirect(url_for("pathways.referral_detail", referral_id=referral.id))
    try:
        if action == "accepter":
            referrals.accept(db.session, current_user, referral)
        elif action == "refuser":
            referrals.decline(db.session, current_user, referral, form.decline_reason.data, form.decline_comment.data)
        elif action == "annuler":
            referrals.cancel(db.session, current_user, referral)
        else:
            referrals.record_outcome(db.session, current_user, referral, honoured=action == "honoree")
    except DomainError as error:
        if error.status_code == 403:
            abort(403)
        flash(error.message, "error")
        return redirect(url_for("pathways.referral_detail", referral_id=referral.id))
    flash(REFERRAL_ACTIONS[action], "success")
    if action == "accepter":
        return redirect(url_for("pathways.case_pathway", case_id=referral.case_id))
    return redirect(url_for("pathways.referral_detail", referral_id=referral.id))


@bp.route("/orientations/echues", methods=["POST"])
@access(Role.ADMIN)
def referrals_expire():
    """What the daily job does, on demand (administrators)."""
    if BaseForm().validate_on_submit():
        count = referrals.expire_overdue(db.session)
        flash(f"{count} orientation{'s' if count > 1 else ''} échue{'s' if count > 1 else ''} marquée"
              f"{'s' if count > 1 else ''} non honorée{'s' if count > 1 else ''}.", "success")
    return redirect(url_for("pathways.referral_list"))


# --- loans --------------------------------------------------------------------------------------

@bp.route("/mises-a-disposition")
@access(*STAFF)
def loan_list():
    today = local_today()
    query = (policy.visible_loans(current_user)
             .options(joinedload(Loan.mediator), joinedload(Loan.structure), joinedload(Loan.commune))
             .order_by(Loan.cancelled_at.is_not(None), Loan.ends_on < today, Loan.starts_on.desc(), Loan.id.desc()))
    page = paginate(db.session, query, page_arg(request.args), per_page=25)
    return render_template("pathways/loan_list.html", page=page, today=today, form=BaseForm(),
                           can_manage=policy.can_manage_loans(current_user),
                           page_url=lambda n: url_for("pathways.loan_list", page=n))


@bp.route("/mises-a-disposition/nouvelle", methods=["GET", "POST"])
@access(*MANAGERS)
def loan_new():
    status = 200
    form = LoanForm()
    pick_list(form.mediator_id, db.session, loans.mediator_source(current_user), blank="— Choisir —",
              noun="médiateurs et médiatrices")
    pick_list(form.place, db.session, *loans.place_sources(current_user), blank="— Choisir —",
              noun="communes et structures")
    if form.validate_on_submit():
        data = form.to_input()
        try:
            loan = loans.create_loan(db.session, current_user, data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"{loan.mediator.full_name} est mis·e à disposition de « {loan.place_name} » du "
                  f"{loan.starts_on.strftime('%d/%m/%Y')} au {loan.ends_on.strftime('%d/%m/%Y')}.", "success")
            return redirect(url_for("pathways.loan_list"))
    return render_template("pathways/loan_form.html", form=form), status


@bp.route("/mises-a-disposition/<int:loan_id>/terminer", methods=["POST"])
@access(*MANAGERS)
def loan_end(loan_id: int):
    loan = found_or_404(policy.get_loan_for_edit(db.session, current_user, loan_id))
    if BaseForm().validate_on_submit():
        try:
            loans.end_loan(db.session, current_user, loan)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Mise à disposition terminée.", "success")
    return redirect(url_for("pathways.loan_list"))


# Template design pages register on the same blueprint.
from mediation.pathways import design_views  # noqa: E402, F401
