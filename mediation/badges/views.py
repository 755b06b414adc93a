"""Open Badges documents (public, ``application/ld+json`` at URLs equal to their ``id``) and the
staff pages: a person's badges and wallet card, revoke/reissue, badge classes and endorsements,
issuer profiles, per-pathway settings, workshop issuing, and the verification page."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy.orm import joinedload

from mediation.auth.models import Role
from mediation.badges import bulk, documents, images, ob3, ob3_di, policy, services, verification
from mediation.badges.forms import (
    BadgeClassForm,
    EmptyForm,
    EndorseForm,
    ImportForm,
    IssueForm,
    IssuerForm,
    ReasonForm,
    RecipientCheckForm,
    SettingsForm,
    VerifyForm,
    WorkshopForm,
)
from mediation.badges.models import Assertion, BadgeClass, Endorsement, IssuerProfile, Wallet
from mediation.cases import policy as cases_policy
from mediation.cases.models import Case
from mediation.directory.models import Structure
from mediation.downloads import content_disposition
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import PickSource, pick_list, searching, show_domain_error
from mediation.pagination import page_arg, paginate
from mediation.pathways import policy as pathways_policy
from mediation.pathways.models import Milestone, PathwayTemplate
from mediation.policy import PUBLIC, access, found_or_404

ob = Blueprint("ob", __name__)
bp = Blueprint("badges", __name__, url_prefix="/badges")
STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)
MANAGERS = (Role.ADMIN, Role.COORDINATOR)


# --- public Open Badges documents ---------------------------------------------------------------

def ld_response(doc: dict, status: int = 200) -> Response:
    """JSON-LD, or plain JSON when the client accepts only that."""
    accept = request.accept_mimetypes
    mimetype = documents.LD_JSON
    if accept and accept.best_match([documents.LD_JSON, "application/json"]) == "application/json" \
            and documents.LD_JSON not in accept.values() and "*/*" not in accept.values():
        mimetype = "application/json"
    response = current_app.response_class(documents.dumps(doc), status=status, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    return response


def _image(data: bytes | str, mimetype: str, filename: str | None = None) -> Response:
    response = current_app.response_class(data, mimetype=mimetype)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    if filename and request.args.get("telecharger"):
        response.headers["Content-Disposition"] = content_disposition(filename)
    return response


@ob.route("/ob/emetteurs/<int:issuer_id>")
@access(PUBLIC)
def issuer(issuer_id: int):
    return ld_response(documents.issuer_document(found_or_404(db.session.get(IssuerProfile, issuer_id))))


@ob.route("/ob/emetteurs/<int:issuer_id>/revocations")
@access(PUBLIC)
def revocation_list(issuer_id: int):
    profile = found_or_404(db.session.get(IssuerProfile, issuer_id))
    return ld_response(documents.revocation_list_document(profile, services.revoked_assertions(db.session, profile)))


@ob.route("/ob/badges/<int:class_id>")
@access(PUBLIC)
def badge_class(class_id: int):
    return ld_response(documents.badge_class_document(found_or_404(db.session.get(BadgeClass, class_id))))


@ob.route("/ob/badges/<int:class_id>/image.<any(png, svg):ext>")
@access(PUBLIC)
def badge_image(class_id: int, ext: str):
    found = found_or_404(db.session.get(BadgeClass, class_id))
    network = current_app.config["MEDIATION_NETWORK_NAME"]
    if ext == "svg":
        return _image(images.badge_svg(found, network), "image/svg+xml")
    return _image(images.badge_png(found, network), "image/png")


@ob.route("/ob/assertions/<uid>")
@access(PUBLIC)
def assertion(uid: str):
    found = found_or_404(services.get_public_assertion(db.session, uid))
    if found.is_revoked:
        return ld_response(documents.revoked_stub(found), 410)
    return ld_response(documents.assertion_document(found))


@ob.route("/ob/assertions/<uid>/badge.<any(png, svg):ext>")
@access(PUBLIC)
def baked(uid: str, ext: str):
    found = found_or_404(services.get_public_assertion(db.session, uid))
    if found.is_revoked:
        abort(410)
    name = f"badge-{found.uid[:8]}.{ext}"
    if ext == "svg":
        return _image(services.bake_assertion_svg(found), "image/svg+xml", name)
    return _image(services.bake_assertion_png(found), "image/png", name)


@ob.route("/ob/approbations/<uid>")
@access(PUBLIC)
def endorsement(uid: str):
    found = found_or_404(db.session.scalar(sa.select(Endorsement).where(Endorsement.uid == uid)))
    if found.revoked_at is not None:
        abort(410)
    return ld_response(documents.endorsement_document(found))


# --- Open Badges 3.0 (VC-JWT): the credential, the issuer's profile and key, the status list ------

def _jwt_response(token: str, filename: str | None = None) -> Response:
    response = current_app.response_class(token, mimetype=ob3.JWT_MIMETYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    if filename and request.args.get("telecharger"):
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@ob.route("/ob/v3/attestations/<uid>")
@access(PUBLIC)
def credential_v3(uid: str):
    """The OpenBadgeCredential as a compact JWS. A revoked badge is still served: its status list
    entry says it is revoked (that is how an OB 3.0 verifier learns it)."""
    found = found_or_404(services.get_public_assertion(db.session, uid))
    return _jwt_response(ob3.sign(ob3.credential(found)), ob3.file_name(found))


@ob.route("/ob/v3/attestations/<uid>/badge.json")
@access(PUBLIC)
def credential_v3_json(uid: str):
    """The same credential secured by a Data Integrity proof (eddsa-rdfc-2022), as a JSON file."""
    found = found_or_404(services.get_public_assertion(db.session, uid))
    response = current_app.response_class(documents.dumps(ob3_di.signed_credential(found)),
                                          mimetype=ob3_di.VC_LD_MIMETYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    if request.args.get("telecharger"):
        response.headers["Content-Disposition"] = f'attachment; filename="badge-{found.uid}.json"'
    return response


@ob.route("/ob/v3/emetteurs/<int:issuer_id>")
@access(PUBLIC)
def profile_v3(issuer_id: int):
    """The issuer's OB 3.0 profile, also the controller document of its key (Multikey)."""
    return ld_response(ob3_di.controller_document(found_or_404(db.session.get(IssuerProfile, issuer_id))))


@ob.route("/ob/v3/emetteurs/<int:issuer_id>/statuts")
@access(PUBLIC)
def status_list_v3(issuer_id: int):
    """The issuer's W3C Bitstring Status List credential as a VC-JWT (for the VC-JWT credentials)."""
    profile = found_or_404(db.session.get(IssuerProfile, issuer_id))
    revoked = services.revoked_assertions(db.session, profile)
    return _jwt_response(ob3.sign(ob3.status_list_credential(profile, revoked)))


@ob.route("/ob/v3/emetteurs/<int:issuer_id>/statuts.json")
@access(PUBLIC)
def status_list_v3_json(issuer_id: int):
    """The same status list secured by a Data Integrity proof (for the JSON credentials)."""
    profile = found_or_404(db.session.get(IssuerProfile, issuer_id))
    doc = ob3_di.signed_status_list(profile, services.revoked_assertions(db.session, profile))
    response = current_app.response_class(documents.dumps(doc), mimetype=ob3_di.VC_LD_MIMETYPE)
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cache-Control"] = "no-cache"
    return response


@ob.route("/ob/v3/cle")
@access(PUBLIC)
def key_v3():
    """The public key the credentials' ``kid`` points to (JWK)."""
    response = current_app.response_class(documents.dumps(ob3.public_jwk()), mimetype="application/jwk+json")
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@ob.route("/badges/verifier/<uid>", methods=["GET", "POST"])
@access(PUBLIC)
def public_verify(uid: str):
    """The share/verification link: what the badge proves, who issued and endorsed it, its state;
    anyone may check that it belongs to the person (the contact is hashed, never stored)."""
    found = found_or_404(services.get_public_assertion(db.session, uid))
    form = RecipientCheckForm()
    match = None
    if form.validate_on_submit():
        match = services.recipient_matches(found, form.contact.data)
    return render_template("badges/public_verify.html", assertion=found, form=form, match=match,
                           assertion_url=documents.assertion_url(found))


@ob.route("/carnet/identite/<uid>")
@access(PUBLIC)
def wallet_identity(uid: str):
    """The opaque identity of a wallet, the hashed recipient of the person's badges."""
    found_or_404(db.session.scalar(sa.select(Wallet.id).where(Wallet.uid == uid)))
    return render_template("wallet/identity.html")


@bp.app_template_global("can_issue_workshop_badges")
def can_issue_workshop_badges(activity) -> bool:
    """The activity page (cases) offers the workshop's badges to a mediator: a global the badges
    domain gives the templates, so that cases need not know about badges."""
    return activity.is_workshop and not activity.is_deleted and policy.can_issue(current_user)


# --- staff: index -------------------------------------------------------------------------------

def _visible_assertions(user):
    cases = pathways_policy.shared_cases(user).with_only_columns(Case.beneficiary_id)
    return sa.select(Assertion).where(Assertion.beneficiary_id.in_(cases))


@bp.route("/")
@access(*STAFF)
def index():
    query = (_visible_assertions(current_user)
             .options(joinedload(Assertion.badge_class), joinedload(Assertion.beneficiary),
                      joinedload(Assertion.structure))
             .order_by(Assertion.issued_at.desc(), Assertion.id.desc()))
    page = paginate(db.session, query, page_arg(request.args), 25)
    people = {a.beneficiary_id for a in page.items}
    case_of = dict(db.session.execute(
        pathways_policy.shared_cases(current_user).with_only_columns(Case.beneficiary_id, Case.id)
        .where(Case.beneficiary_id.in_(people)).order_by(Case.opened_at)).all()) if people else {}
    templates = db.session.scalars(pathways_policy.visible_templates(current_user)
                                   .where(PathwayTemplate.archived_at.is_(None))
                                   .order_by(PathwayTemplate.name)).all()
    return render_template("badges/index.html", page=page, templates=templates, case_of=case_of,
                           can_manage=policy.can_manage_issuers(current_user),
                           label=lambda b: cases_policy.beneficiary_label(current_user, b),
                           page_url=lambda n: url_for("badges.index", page=n))


# --- staff: a person's badges and wallet card ----------------------------------------------------

def load_case(case_id: int) -> Case:
    return found_or_404(policy.get_case(db.session, current_user, case_id))


def actionable_case(case_id: int) -> Case:
    case = load_case(case_id)
    if not policy.can_issue(current_user):
        abort(403)
    return case


def _person_page(case: Case, **extra):
    person = case.beneficiary
    the_wallet = db.session.scalar(sa.select(Wallet).where(Wallet.beneficiary_id == person.id))
    return render_template(
        "badges/person.html", case=case, person_label=cases_policy.beneficiary_label(current_user, person),
        assertions=services.assertions_of(db.session, person.id),
        pending=services.pending_validations(db.session, case), wallet=the_wallet,
        externals=verification.external_badges(db.session, case), can_issue=policy.can_issue(current_user),
        issue_form=IssueForm(), button=EmptyForm(), **extra)


@bp.route("/dossiers/<int:case_id>")
@access(*STAFF)
def person(case_id: int):
    return _person_page(load_case(case_id))


@bp.route("/dossiers/<int:case_id>/delivrer", methods=["POST"])
@access(*STAFF)
def issue(case_id: int):
    case = actionable_case(case_id)
    form = IssueForm()
    if form.validate_on_submit():
        try:
            validation_id = int(form.validation_id.data or 0)
            services.issue_manually(db.session, current_user, case, validation_id)
        except (DomainError, ValueError) as error:
            flash(getattr(error, "message", "Validation inconnue."), "error")
        else:
            flash("Badge délivré.", "success")
    return redirect(url_for("badges.person", case_id=case.id))


def _case_assertion(case: Case, assertion_id: int) -> Assertion:
    found = db.session.scalar(sa.select(Assertion).where(Assertion.id == assertion_id,
                                                         Assertion.beneficiary_id == case.beneficiary_id))
    return found_or_404(found)


@bp.route("/dossiers/<int:case_id>/badges/<int:assertion_id>/<any(revoquer, redelivrer):action>",
          methods=["GET", "POST"])
@access(*STAFF)
def revoke(case_id: int, assertion_id: int, action: str):
    status = 200
    case = actionable_case(case_id)
    found = _case_assertion(case, assertion_id)
    form = ReasonForm()
    if form.validate_on_submit():
        try:
            if action == "revoquer":
                services.revoke(db.session, current_user, found, form.reason.data)
                flash("Badge révoqué : il n'est plus valable et ne peut plus être téléchargé.", "success")
            else:
                services.reissue(db.session, current_user, found, form.reason.data)
                flash("Badge révoqué et délivré à nouveau.", "success")
            return redirect(url_for("badges.person", case_id=case.id))
        except DomainError as error:
            status = show_domain_error(form, error)
    return render_template("badges/revoke.html", case=case, assertion=found, form=form, action=action), status


# --- verification -------------------------------------------------------------------------------

def _verify_page(case: Case | None):
    status = 200
    form = VerifyForm()
    result = None
    if form.validate_on_submit():
        upload = form.image.data.read() if form.image.data and getattr(form.image.data, "filename", "") else None
        try:
            result = verification.verify(db.session, url=form.url.data, upload=upload,
                                         recipient=form.recipient.data)
        except verification.ValidatorUnavailable as error:
            form.form_errors.append(error.message)
        except DomainError as error:
            status = show_domain_error(form, error)
    import_form = ImportForm(url=result.assertion_url) if result and result.valid else None
    return render_template("badges/verify.html", form=form, result=result, case=case, import_form=import_form,
                           available=verification.available(),
                           can_import=case is not None and policy.can_issue(current_user),
                           person_label=cases_policy.beneficiary_label(current_user, case.beneficiary) if case else None), status


@bp.route("/verifier", methods=["GET", "POST"])
@access(*STAFF)
def verify():
    return _verify_page(None)


@bp.route("/dossiers/<int:case_id>/verifier", methods=["GET", "POST"])
@access(*STAFF)
def case_verify(case_id: int):
    return _verify_page(load_case(case_id))


@bp.route("/dossiers/<int:case_id>/importer", methods=["POST"])
@access(*STAFF)
def case_import(case_id: int):
    """Re-verify (never trust the page) and keep the badge in the case."""
    case = actionable_case(case_id)
    form = ImportForm()
    if not form.validate_on_submit():
        abort(400)
    structures = pathways_policy.acting_structures(db.session, current_user)
    structure_id = case.structure_id if case.structure_id in {s.id for s in structures} else structures[0].id
    try:
        result = verification.verify(db.session, url=form.url.data)
        verification.import_external(db.session, current_user, case, structure_id, result)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("badges.case_verify", case_id=case.id))
    flash("Badge vérifié et ajouté au dossier de la personne.", "success")
    return redirect(url_for("badges.person", case_id=case.id))


# --- badge classes, endorsements, issuers, settings ---------------------------------------------

@bp.route("/modeles")
@access(*STAFF)
def class_list():
    query = (policy.visible_badge_classes(current_user)
             .options(joinedload(BadgeClass.issuer)).order_by(BadgeClass.pathway_name, BadgeClass.id))
    page = paginate(db.session, query, page_arg(request.args), 50)
    return render_template("badges/class_list.html", page=page,
                           page_url=lambda n: url_for("badges.class_list", page=n))


def load_class(class_id: int) -> BadgeClass:
    return found_or_404(policy.get_badge_class(db.session, current_user, class_id))


@bp.route("/modeles/<int:class_id>", methods=["GET", "POST"])
@access(*STAFF)
def class_detail(class_id: int):
    status = 200
    found = load_class(class_id)
    can_manage = policy.can_manage_badge_class(current_user, found)
    form = BadgeClassForm(obj=None if request.method == "POST" else found)
    if request.method == "GET":
        form.tags.data = ", ".join(found.tags or [])
    if request.method == "POST":
        if not can_manage:
            abort(403)
        if form.validate_on_submit():
            try:
                services.update_badge_class(db.session, current_user, found, form.to_input())
                flash("Badge modifié.", "success")
                return redirect(url_for("badges.class_detail", class_id=found.id))
            except DomainError as error:
                status = show_domain_error(form, error)
    endorse_form = EndorseForm()
    pick_list(endorse_form.structure_id, db.session,
              PickSource(policy.endorsing_structures_query(current_user), Structure.id, Structure.name),
              blank="— Choisir —", noun="structures")
    return render_template("badges/class_detail.html", badge_class=found, form=form, can_manage=can_manage,
                           endorse_form=endorse_form, button=EmptyForm(),
                           document_url=documents.badge_class_url(found)), status


@bp.route("/modeles/<int:class_id>/approbations", methods=["POST"])
@access(*MANAGERS)
def endorse(class_id: int):
    found = load_class(class_id)
    if not policy.can_manage_badge_class(current_user, found):
        abort(403)
    form = EndorseForm()
    if searching(form):  # the structures matching the words, on the badge's page
        words = (request.form.get("structure_id-recherche") or "").strip()[:100]
        return redirect(url_for("badges.class_detail", class_id=found.id, **{"structure_id-recherche": words},
                                _anchor="structure_id"))
    if form.validate_on_submit():
        try:
            raw = form.structure_id.data or ""
            structure = db.session.scalar(policy.endorsing_structures_query(current_user).where(
                Structure.id == int(raw))) if raw.isdigit() and len(raw) < 18 else None
            if structure is None:
                raise DomainError("Choisissez une structure de votre territoire.", field="structure_id")
            services.endorse(db.session, current_user, found, structure, form.comment.data)
            flash("Approbation enregistrée : elle figure désormais dans le badge.", "success")
        except (DomainError, ValueError) as error:
            flash(getattr(error, "message", "Structure inconnue."), "error")
    return redirect(url_for("badges.class_detail", class_id=found.id))


@bp.route("/approbations/<int:endorsement_id>/retirer", methods=["POST"])
@access(*MANAGERS)
def endorsement_withdraw(endorsement_id: int):
    found = found_or_404(db.session.get(Endorsement, endorsement_id))
    badge = load_class(found.badge_class_id)
    if not policy.can_manage_badge_class(current_user, badge):
        abort(403)
    if EmptyForm().validate_on_submit():
        try:
            services.withdraw_endorsement(db.session, current_user, found)
            flash("Approbation retirée.", "success")
        except DomainError as error:
            flash(error.message, "error")
    return redirect(url_for("badges.class_detail", class_id=badge.id))


@bp.route("/emetteurs")
@access(*MANAGERS)
def issuer_list():
    issuers = db.session.scalars(policy.visible_issuers(current_user).order_by(IssuerProfile.kind,
                                                                               IssuerProfile.name)).all()
    return render_template("badges/issuer_list.html", issuers=issuers)


@bp.route("/emetteurs/<int:issuer_id>", methods=["GET", "POST"])
@access(*MANAGERS)
def issuer_edit(issuer_id: int):
    status = 200
    profile = found_or_404(policy.get_issuer(db.session, current_user, issuer_id))
    form = IssuerForm(obj=profile)
    if form.validate_on_submit():
        try:
            services.update_issuer(db.session, current_user, profile, form.to_input())
            flash("Profil d'émetteur enregistré.", "success")
            return redirect(url_for("badges.issuer_list"))
        except DomainError as error:
            status = show_domain_error(form, error)
    return render_template("badges/issuer_form.html", profile=profile, form=form,
                           document_url=documents.issuer_url(profile)), status


@bp.route("/parcours/<int:template_id>", methods=["GET", "POST"])
@access(*STAFF)
def settings(template_id: int):
    template = found_or_404(pathways_policy.get_template(db.session, current_user, template_id))
    can_manage = pathways_policy.can_manage_template(current_user, template)
    form = SettingsForm(auto_issue=services.auto_issue(db.session, template.id))
    if request.method == "POST":
        if not can_manage:
            abort(403)
        if form.validate_on_submit():
            services.set_auto_issue(db.session, current_user, template, form.auto_issue.data)
            if request.form.get("publier"):
                services.publish_classes(db.session, current_user, template)
            flash("Réglages des badges enregistrés.", "success")
            return redirect(url_for("badges.settings", template_id=template.id))
    classes = db.session.scalars(
        sa.select(BadgeClass).join(Milestone, Milestone.id == BadgeClass.milestone_id)
        .where(Milestone.version_id == template.current_version.id).order_by(BadgeClass.id)).all()
    return render_template("badges/settings.html", template=template, form=form, can_manage=can_manage,
                           classes=classes)


@bp.route("/ateliers/<int:activity_id>", methods=["GET", "POST"])
@access(*STAFF)
def workshop(activity_id: int):
    """Validate the step observed in a workshop for every enrolled participant and issue the badges
    (a job with a progress bar)."""
    status = 200
    activity = found_or_404(cases_policy.get_activity(db.session, current_user, activity_id))
    if not policy.can_issue(current_user):
        abort(403)
    if not activity.is_workshop or activity.is_deleted:
        abort(404)
    choices = bulk.step_choices(db.session, activity)
    form = WorkshopForm()
    form.milestone_id.choices = [("", "— Choisir —")] + [(str(c.milestone_id), c.label) for c in choices]
    if form.validate_on_submit():
        structures = pathways_policy.acting_structures(db.session, current_user)
        structure_id = activity.structure_id if activity.structure_id in {s.id for s in structures} else (
            structures[0].id if structures else None)
        try:
            milestone_id = int(form.milestone_id.data) if (form.milestone_id.data or "").isdigit() else None
            job = bulk.start(db.session, current_user, activity, milestone_id, structure_id)
            return redirect(url_for("jobs.job_detail", job_id=job.id))
        except DomainError as error:
            status = show_domain_error(form, error)
    return render_template("badges/workshop.html", activity=activity, form=form,
                           participants=len(activity.participations), has_choices=bool(choices)), status
