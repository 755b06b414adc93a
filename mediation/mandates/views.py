"""Mandate pages: list, creation wizard (choices → preview « Projet » → code and consent), detail,
use, revocation, renewal, signed copy, transfer, and the public verification page.

Every handler loads through the user's scope (mandates/policy.py), checks the policy, acts through
a service and renders. Aidant pages also require a recent second-factor proof: an aidant idle for
more than 15 minutes re-enters a code before any mandate action (the time of their last mandate
action is kept in the browser session).
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, url_for
from flask import session as browser_session
from flask_login import current_user
from sqlalchemy.orm import selectinload

from mediation.auth import services as auth_services
from mediation.auth.models import Role
from mediation.auth.sessions import LOGIN_AT_KEY
from mediation.cases import picker
from mediation.cases import policy as cases_policy
from mediation.cases.models import Beneficiary
from mediation.directory.models import Structure
from mediation.directory.notifications import NotificationKind
from mediation.downloads import file_response
from mediation.errors import DomainError, Forbidden, ValidationFailed
from mediation.extensions import db
from mediation.forms import UNPROCESSABLE, show_domain_error
from mediation.mandates import attestation, policy, services
from mediation.mandates.enums import OVER_INDEBTEDNESS_WARNING, Demarche, MandateStatus, RevocationReason
from mediation.mandates.forms import (
    ActivityCheckForm,
    CloseRequestForm,
    ConfirmMandateForm,
    EmptyForm,
    MandateForm,
    RevokeForm,
    ScanForm,
    StructureScopesForm,
    TransferForm,
    UseForm,
    options,
)
from mediation.mandates.models import (
    Authorization,
    Mandate,
    MandateNotification,
    MandateUse,
    RevocationRequest,
)
from mediation.pagination import page_arg, paginate
from mediation.policy import PUBLIC, access, found_or_404
from mediation.redirects import safe_target
from mediation.text import de
from mediation.transaction import keep_despite_error
from mediation.types import utcnow

bp = Blueprint("mandates", __name__, url_prefix="/mandats")

ACTIVE_AT_KEY = "mandates_active_at"
DRAFT_KEY = "mandate_draft"
DRAFT_TTL = 15 * 60  # seconds a wizard draft stays in the browser session
SECOND_FACTOR_ERRORS = (auth_services.ReauthenticationFailed, auth_services.LoginLocked)


@bp.app_context_processor
def inject_helpers():
    return {"mandate_beneficiary": lambda mandate: policy.beneficiary_label(current_user, mandate)}


# --- guards ---------------------------------------------------------------------------------

def _safe_next(target: str | None) -> str:
    return safe_target(target, url_for("mandates.index"), under="/mandats")


def aidant_required(view):
    """Habilitated aidants only (403 with the reason otherwise), with the inactivity step-up."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        problem = policy.habilitation_problem(current_user)
        if problem:
            raise Forbidden(problem)
        last = browser_session.get(ACTIVE_AT_KEY) or browser_session.get(LOGIN_AT_KEY)
        if not isinstance(last, int | float) or time.time() - last > services.ACTIVITY_TIMEOUT.total_seconds():
            target = request.full_path.rstrip("?") if request.method == "GET" else url_for("mandates.index")
            flash("Vous êtes resté·e inactif·ve plus de 15 minutes : saisissez votre code de double "
                  "authentification pour continuer.", "info")
            return redirect(url_for("mandates.activity_check", next=target))
        browser_session[ACTIVE_AT_KEY] = int(time.time())
        return view(*args, **kwargs)

    return wrapper


def load_mandate(mandate_id: int, *options) -> Mandate:
    mandate = found_or_404(policy.get_mandate(db.session, current_user, mandate_id, *options))
    return mandate


def _refused(form, error: DomainError) -> None:
    """Show a refusal on the form. A wrong code was recorded as a failed sign-in: keep that record
    (it feeds throttling) — nothing else was written before the code was checked."""
    if isinstance(error, SECOND_FACTOR_ERRORS):
        keep_despite_error()
    show_domain_error(form, error)


def _status(error: DomainError | None) -> int:
    if error is None:
        return 200
    if isinstance(error, auth_services.LoginLocked):
        return 429
    return error.status_code if error.status_code in (403, 409) else UNPROCESSABLE


def _pdf_response(data: bytes, filename: str):
    return file_response(data, filename, "application/pdf", inline=True)


# --- list -----------------------------------------------------------------------------------

FILTERS = {"en_cours": "En vigueur", "termines": "Terminés depuis moins d'un an", "tous": "Tous"}


def _live_clause(now):
    live = sa.select(Authorization.mandate_id).where(Authorization.revoked_at.is_(None),
                                                     Authorization.expires_at > now)
    return Mandate.id.in_(live)


@bp.route("/")
@access(Role.MEDIATOR, Role.ADMIN, Role.COORDINATOR)
def index():
    user = current_user._get_current_object()
    if user.role == Role.MEDIATOR:
        problem = policy.habilitation_problem(user)
        if problem:
            raise Forbidden(problem)
        return _aidant_index()
    return _supervisor_index()


@aidant_required
def _aidant_index():
    now = utcnow()
    state = request.args.get("etat", "en_cours")
    state = state if state in FILTERS else "en_cours"
    query = policy.visible_mandates(current_user).options(
        selectinload(Mandate.authorizations), selectinload(Mandate.beneficiary), selectinload(Mandate.structure)
    )
    if state == "en_cours":
        query = query.where(_live_clause(now)).order_by(Mandate.expires_at)
    elif state == "termines":
        year_ago = now - services.RENEWABLE_FOR
        query = query.where(~_live_clause(now), sa.func.coalesce(Mandate.closed_at, Mandate.expires_at) > year_ago,
                            Mandate.anonymised_at.is_(None)).order_by(Mandate.expires_at.desc())
    else:
        query = query.order_by(Mandate.created_at.desc())
    page = paginate(db.session, query, page_arg(request.args), 25)
    notifications = db.session.scalars(
        sa.select(MandateNotification).where(MandateNotification.user_id == current_user.id,
                                             MandateNotification.read_at.is_(None))
        .options(selectinload(MandateNotification.mandate)).order_by(MandateNotification.created_at.desc())
    ).all()
    visible_ids = policy.visible_mandates(current_user).with_only_columns(Mandate.id)
    requests_ = db.session.scalars(
        sa.select(RevocationRequest).where(RevocationRequest.mandate_id.in_(visible_ids),
                                           RevocationRequest.status == "en_attente")
        .options(selectinload(RevocationRequest.mandate)).order_by(RevocationRequest.requested_at)
    ).all()
    return render_template(
        "mandates/index.html", page=page, state=state, filters=FILTERS, now=now,
        structures=policy.acting_structures(db.session, current_user), notifications=notifications,
        pending_requests=requests_, notification_kinds=NotificationKind, form=EmptyForm(),
        page_url=lambda n: url_for("mandates.index", etat=state, page=n),
    )


def _supervisor_index():
    now = utcnow()
    query = policy.visible_mandates(current_user).where(_live_clause(now)).options(
        selectinload(Mandate.authorizations), selectinload(Mandate.beneficiary), selectinload(Mandate.structure)
    ).order_by(Mandate.structure_id, Mandate.expires_at)
    page = paginate(db.session, query, page_arg(request.args), 50)
    structures = db.session.scalars(policy.supervised_structures(db.session, current_user)).all()
    return render_template("mandates/supervisor_index.html", page=page, now=now, structures=structures,
                           allowed=services.allowed_demarches, all_demarches=len(Demarche),
                           page_url=lambda n: url_for("mandates.index", page=n))


@bp.route("/structures/<int:structure_id>/demarches", methods=["GET", "POST"])
@access(Role.ADMIN, Role.COORDINATOR)
def structure_scopes(structure_id: int):
    status = 200
    structure = db.session.scalar(policy.supervised_structures(db.session, current_user, with_aidants=False)
                                  .where(Structure.id == structure_id))
    if structure is None:
        abort(404)
    form = StructureScopesForm()
    form.demarches.choices = options((d.value, f"{d.label} — {d.description}") for d in Demarche)
    if request.method == "GET":
        form.demarches.data = [d.value for d in services.allowed_demarches(structure)]
    elif form.validate_on_submit():
        try:
            services.set_allowed_demarches(db.session, current_user, structure, form.demarches.data)
        except DomainError as exc:
            status = show_domain_error(form, exc)
        else:
            flash(f"Démarches autorisées pour {structure.name} enregistrées.", "success")
            return redirect(url_for("mandates.index"))
    return render_template("mandates/structure_scopes.html", form=form, structure=structure), status


# --- creation wizard ------------------------------------------------------------------------

def _wizard_choices(form: MandateForm, structures, renewal: Mandate | None) -> None:
    form.structure_id.choices = options((s.id, s.name) for s in structures)
    if renewal is not None:
        form.beneficiary_id.choices = options([(renewal.beneficiary_id, renewal.beneficiary.display_name)])
        allowed = services.allowed_demarches(renewal.structure)
    else:  # the person is chosen with the person picker (_person_picker)
        allowed = sorted({d for s in structures for d in services.allowed_demarches(s)},
                         key=list(Demarche).index)
    form.demarches.choices = options((d.value, f"{d.label} — {d.description}") for d in allowed)


def _wizard(renewal: Mandate | None):
    status = 200
    structures = policy.acting_structures(db.session, current_user)
    if renewal is not None:
        structures = [s for s in structures if s.id == renewal.structure_id]
    form = MandateForm()
    _wizard_choices(form, structures, renewal)
    if request.method == "GET":
        draft = services.renewal_draft(renewal) if renewal else services.MandateDraft(
            structure_id=structures[0].id if len(structures) == 1 else None,
            beneficiary_id=services._as_id(request.args.get("beneficiaire")),
        )
        saved = browser_session.get(DRAFT_KEY)
        if saved and request.args.get("modifier") and saved.get("renewed_from_id") == getattr(renewal, "id", None):
            draft = services.MandateDraft.from_dict(saved)
        form.structure_id.data = draft.structure_id
        form.beneficiary_id.data = draft.beneficiary_id
        form.demarches.data = draft.demarches
        form.duration.data = draft.duration
        form.identity_check.data = draft.identity_check
    elif not picker.search_requested(request.form) and form.validate_on_submit():  # a search saves nothing
        draft = services.MandateDraft(
            structure_id=renewal.structure_id if renewal else form.structure_id.data,
            beneficiary_id=renewal.beneficiary_id if renewal else form.beneficiary_id.data,
            demarches=list(form.demarches.data or []), duration=form.duration.data,
            identity_check=form.identity_check.data, renewed_from_id=getattr(renewal, "id", None),
        )
        try:
            services.check_draft(db.session, current_user, draft)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            browser_session[DRAFT_KEY] = {**draft.to_dict(), "at": int(time.time())}
            return redirect(url_for("mandates.confirm"))
    return render_template("mandates/new.html", form=form, renewal=renewal, structures=structures,
                           argent_warning=OVER_INDEBTEDNESS_WARNING,
                           person_picker=None if renewal else _person_picker(form)), status


def _person_picker(form: MandateForm) -> picker.Picker:
    """The person of a new mandate, with the one person picker (name, birth year, commune)."""
    suggested = db.session.scalars(
        cases_policy.visible_beneficiaries(current_user).where(Beneficiary.anonymous.is_(False))
        .options(selectinload(Beneficiary.residence_commune))
        .order_by(Beneficiary.last_name, Beneficiary.first_name, Beneficiary.birth_year, Beneficiary.id)
        .limit(picker.MAX_RESULTS + 1)
    ).all()
    return picker.build_picker(
        db.session, current_user, name="beneficiary_id", label=form.beneficiary_id.label.text,
        search_label="Rechercher la personne", selected=[form.beneficiary_id.data] if form.beneficiary_id.data else [],
        q=request.form.get("beneficiary_id_recherche", ""),
        searched=request.form.get(picker.SEARCH_BUTTON) == "beneficiary_id", suggested=suggested,
        hint=form.beneficiary_id.description, error=" ".join(form.beneficiary_id.errors) or None,
    )


@bp.route("/nouveau", methods=["GET", "POST"])
@access(Role.MEDIATOR)
@aidant_required
def new():
    if not policy.acting_structures(db.session, current_user):
        raise Forbidden("Vous n'êtes rattaché·e à aucune structure : demandez à votre coordination de vous "
                        "rattacher.")
    return _wizard(None)


@bp.route("/<int:mandate_id>/renouveler", methods=["GET", "POST"])
@access(Role.MEDIATOR)
@aidant_required
def renew(mandate_id: int):
    mandate = load_mandate(mandate_id)
    if not services.is_renewable(mandate):
        flash("Ce mandat ne peut plus être renouvelé : créez un nouveau mandat avec la personne.", "error")
        return redirect(url_for("mandates.detail", mandate_id=mandate.id))
    return _wizard(mandate)


@bp.route("/nouveau/confirmation", methods=["GET", "POST"])
@access(Role.MEDIATOR)
@aidant_required
def confirm():
    saved = browser_session.get(DRAFT_KEY)
    if not saved or time.time() - saved.get("at", 0) > DRAFT_TTL:
        browser_session.pop(DRAFT_KEY, None)
        flash("Le projet de mandat a expiré ou n'existe pas : recommencez la saisie.", "info")
        return redirect(url_for("mandates.new"))
    draft = services.MandateDraft.from_dict(saved)
    try:
        checked = services.check_draft(db.session, current_user, draft)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("mandates.new"))
    form = ConfirmMandateForm()
    error = None
    if form.validate_on_submit():
        try:
            mandate = services.create_mandate(db.session, current_user, draft, totp_code=form.totp_code.data,
                                              consent=form.consent.data)
        except DomainError as exc:
            error = exc
            _refused(form, exc)
        else:
            browser_session.pop(DRAFT_KEY, None)
            flash("Mandat créé. Imprimez l'attestation en deux exemplaires, faites-la signer, remettez-en un "
                  "à la personne et conservez l'autre.", "success")
            return redirect(url_for("mandates.detail", mandate_id=mandate.id))
    now = utcnow()
    preview = attestation.render_legal_html(
        attestation.attestation_data(
            reference="", token="projet", beneficiary=checked.beneficiary, structure=checked.structure,
            aidant=current_user, demarches=checked.demarches, duration=checked.duration,
            identity_check=checked.identity_check, created_at=now,
            expires_at=now + timedelta(days=checked.duration.days),
        ),
        version=attestation.CURRENT_TEMPLATE_VERSION, draft=True,
    )
    edit_url = (url_for("mandates.renew", mandate_id=draft.renewed_from_id, modifier=1) if draft.renewed_from_id
                else url_for("mandates.new", modifier=1))
    return render_template("mandates/confirm.html", form=form, checked=checked, preview=preview,
                           argent_warning=OVER_INDEBTEDNESS_WARNING, edit_url=edit_url), _status(error)


# --- one mandate ----------------------------------------------------------------------------

def _detail_context(mandate: Mandate) -> dict:
    now = utcnow()
    uses = db.session.scalars(
        sa.select(MandateUse).where(MandateUse.mandate_id == mandate.id)
        .options(selectinload(MandateUse.used_by)).order_by(MandateUse.used_at.desc())
    ).all()
    return {
        "mandate": mandate, "now": now, "uses": uses, "status": mandate.status(now),
        "statuses": MandateStatus, "pending": services.pending_requests(db.session, mandate),
        "renewable": services.is_renewable(mandate, now), "live": mandate.live_authorizations(now),
        "revoked": services.revoked_by_the_structure(mandate), "scan_form": ScanForm(),
        "close_form": CloseRequestForm(), "reasons": RevocationReason,
    }


@bp.route("/<int:mandate_id>")
@access(Role.MEDIATOR)
@aidant_required
def detail(mandate_id: int):
    mandate = load_mandate(mandate_id, selectinload(Mandate.authorizations))
    return render_template("mandates/detail.html", **_detail_context(mandate))


@bp.route("/<int:mandate_id>/attestation.pdf")
@access(Role.MEDIATOR)
@aidant_required
def attestation_pdf(mandate_id: int):
    mandate = load_mandate(mandate_id)
    if mandate.attestation_pdf is None:
        abort(404)
    return _pdf_response(mandate.attestation_pdf, f"mandat-{mandate.reference}.pdf")


@bp.route("/<int:mandate_id>/utiliser", methods=["GET", "POST"])
@access(Role.MEDIATOR)
@aidant_required
def use(mandate_id: int):
    mandate = load_mandate(mandate_id, selectinload(Mandate.authorizations))
    now = utcnow()
    form = UseForm()
    form.demarche.choices = options([("", "Choisissez la démarche")] + [
        (a.demarche.value, a.demarche.label if a.is_live(now) else f"{a.demarche.label} ({a.status(now).label.lower()})")
        for a in mandate.authorizations
    ])
    error = None
    if form.validate_on_submit():
        try:
            services.use_authorization(db.session, current_user, mandate, form.demarche.data, form.description.data)
        except DomainError as exc:
            error = exc
            show_domain_error(form, exc)
        else:
            flash(f"Utilisation enregistrée dans le journal du mandat : « {Demarche(form.demarche.data).label} ».",
                  "success")
            return redirect(url_for("mandates.detail", mandate_id=mandate.id))
    elif request.method == "GET":
        form.demarche.data = request.args.get("demarche")
    return render_template("mandates/use.html", form=form, mandate=mandate, now=now), _status(error)


@bp.route("/<int:mandate_id>/revoquer", methods=["GET", "POST"])
@access(Role.MEDIATOR)
@aidant_required
def revoke(mandate_id: int):
    mandate = load_mandate(mandate_id, selectinload(Mandate.authorizations))
    now = utcnow()
    live = mandate.live_authorizations(now)
    if not live:
        flash("Ce mandat n'a plus aucune autorisation en vigueur : il n'y a rien à révoquer.", "info")
        return redirect(url_for("mandates.detail", mandate_id=mandate.id))
    form = RevokeForm()
    form.demarches.choices = options((a.demarche.value, a.demarche.label) for a in live)
    pending = {str(r.id): r for r in services.pending_requests(db.session, mandate)}
    error = None
    if form.validate_on_submit():
        revocation_request = pending.get(form.request_id.data or "")
        try:
            if not form.demarches.data:
                raise ValidationFailed("Cochez au moins une démarche à révoquer.", field="demarches")
            services.revoke(db.session, current_user, mandate, form.demarches.data, form.reason.data,
                            totp_code=form.totp_code.data, request=revocation_request)
        except DomainError as exc:
            error = exc
            _refused(form, exc)
        else:
            flash("Révocation enregistrée. Imprimez l'attestation de révocation et faites-la signer par la "
                  "personne.", "success")
            return redirect(url_for("mandates.detail", mandate_id=mandate.id, _anchor="revocation"))
    elif request.method == "GET":
        asked = pending.get(request.args.get("demande", ""))
        form.request_id.data = str(asked.id) if asked else ""
        if asked:
            form.demarches.data = asked.demarches or [a.demarche.value for a in live]
            form.reason.data = RevocationReason.DEMANDE_BENEFICIAIRE.value
    return render_template("mandates/revoke.html", form=form, mandate=mandate,
                           pending=pending.get(form.request_id.data or "")), _status(error)


@bp.route("/<int:mandate_id>/revocation.pdf")
@access(Role.MEDIATOR)
@aidant_required
def revocation_pdf(mandate_id: int):
    mandate = load_mandate(mandate_id, selectinload(Mandate.authorizations))
    if not services.revoked_by_the_structure(mandate) or mandate.beneficiary is None:
        abort(404)
    return _pdf_response(services.revocation_pdf(mandate), f"revocation-{mandate.reference}.pdf")


@bp.route("/<int:mandate_id>/mandat-signe", methods=["GET", "POST"])
@access(Role.MEDIATOR)
@aidant_required
def signed_scan(mandate_id: int):
    mandate = load_mandate(mandate_id)
    if request.method == "GET":
        if mandate.signed_scan is None:
            abort(404)
        extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[mandate.signed_scan_type]
        return file_response(mandate.signed_scan, f"mandat-signe-{mandate.reference}.{extension}",
                             mandate.signed_scan_type)
    form = ScanForm()
    if form.validate_on_submit():
        upload = form.scan.data
        data = upload.read(services.SCAN_MAX_BYTES + 1) if upload else None
        try:
            services.attach_signed_scan(db.session, current_user, mandate, data)
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            flash("Le mandat signé numérisé est joint au mandat.", "success")
            return redirect(url_for("mandates.detail", mandate_id=mandate.id))
    context = _detail_context(mandate)
    context["scan_form"] = form
    return render_template("mandates/detail.html", **context), 422


@bp.route("/demandes/<int:request_id>/cloture", methods=["POST"])
@access(Role.MEDIATOR)
@aidant_required
def close_request(request_id: int):
    revocation_request = found_or_404(db.session.get(RevocationRequest, request_id))
    mandate = load_mandate(revocation_request.mandate_id)  # 404 outside the aidant's structures
    form = CloseRequestForm()
    if form.validate_on_submit():
        try:
            services.close_request(db.session, current_user, revocation_request, form.note.data)
        except DomainError as exc:
            show_domain_error(form, exc)
        else:
            flash("La demande de révocation est close.", "success")
            return redirect(url_for("mandates.detail", mandate_id=mandate.id))
    context = _detail_context(mandate)
    context["close_form"] = form
    return render_template("mandates/detail.html", **context), 422


@bp.route("/notifications/<int:notification_id>/lue", methods=["POST"])
@access(Role.MEDIATOR)
@aidant_required
def notification_read(notification_id: int):
    notification = db.session.scalar(sa.select(MandateNotification).where(
        MandateNotification.id == notification_id, MandateNotification.user_id == current_user.id))
    if notification is None:
        abort(404)
    if EmptyForm().validate_on_submit() and notification.read_at is None:
        notification.read_at = utcnow()
    return redirect(url_for("mandates.index"))


# --- step-up --------------------------------------------------------------------------------

@bp.route("/verification", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def activity_check():
    problem = policy.habilitation_problem(current_user)
    if problem:
        raise Forbidden(problem)
    form = ActivityCheckForm()
    error = None
    target = _safe_next(request.args.get("next"))
    if form.validate_on_submit():
        try:
            services.confirm_activity(db.session, current_user, form.code.data)
        except DomainError as exc:
            error = exc
            _refused(form, exc)
        else:
            browser_session[ACTIVE_AT_KEY] = int(time.time())
            return redirect(target)
    return render_template("mandates/activity_check.html", form=form), _status(error)


# --- transfer (administration, coordination) ------------------------------------------------

@bp.route("/<int:mandate_id>/transfert", methods=["GET", "POST"])
@access(Role.ADMIN, Role.COORDINATOR)
def transfer(mandate_id: int):
    mandate = load_mandate(mandate_id, selectinload(Mandate.authorizations))
    form = TransferForm()
    targets = policy.transfer_targets(db.session, current_user, mandate)
    form.structure_id.choices = options([("", "Choisissez une structure")] + [(s.id, s.name) for s in targets])
    error = None
    if form.validate_on_submit():
        previous = mandate.structure.name
        try:
            services.transfer(db.session, current_user, mandate, form.structure_id.data,
                              totp_code=form.totp_code.data)
        except DomainError as exc:
            error = exc
            _refused(form, exc)
        else:
            db.session.refresh(mandate)
            flash(f"Mandat transféré {de(previous)} à {mandate.structure.name}.", "success")
            return redirect(url_for("mandates.index"))
    return render_template("mandates/transfer.html", form=form, mandate=mandate, now=utcnow()), _status(error)


# --- public verification page ---------------------------------------------------------------

def initials(beneficiary: Beneficiary | None) -> str | None:
    if beneficiary is None or beneficiary.anonymous:
        return None
    return " ".join(f"{part.strip()[0].upper()}." for part in (beneficiary.first_name, beneficiary.last_name)
                    if part and part.strip())


@bp.route("/verifier/<token>")
@access(PUBLIC)
def verify(token: str):
    mandate = None
    if 20 <= len(token) <= 43:
        mandate = db.session.scalar(sa.select(Mandate).where(Mandate.public_token == token)
                                    .options(selectinload(Mandate.authorizations), selectinload(Mandate.structure)))
    if mandate is None:
        abort(404)
    now = utcnow()
    response = make_response(render_template(
        "mandates/verify.html", mandate=mandate, now=now, status=mandate.status(now), statuses=MandateStatus,
        initials=initials(mandate.beneficiary),
    ))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
