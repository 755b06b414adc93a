"""Pages of case files and beneficiaries: list and search, case detail with its timeline, state
changes, notes, consent, beneficiary creation and edit. Same blueprint as the activity pages."""

from __future__ import annotations

from datetime import UTC, datetime, time

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload

from mediation.audit.services import ACTION_LABELS
from mediation.auth.models import Role, User
from mediation.cases import activities, duplicates, picker, policy, services, signals
from mediation.cases.enums import CaseState, ClosureReason
from mediation.cases.forms import BeneficiaryForm, CaseNoteForm, CaseStateForm, ConsentForm
from mediation.cases.models import Beneficiary, Case
from mediation.cases.search import person_condition
from mediation.cases.views import STAFF, _territory_communes, bp
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import BaseForm, show_domain_error
from mediation.pagination import page_arg, paginate
from mediation.policy import access, found_or_404
from mediation.types import LOCAL_TIMEZONE as PARIS
from mediation.types import local_today


def load_case(case_id: int, *options) -> Case:
    case = found_or_404(policy.get_case(db.session, current_user, case_id, *options))
    return case


def managed_case(case_id: int) -> Case:
    case = load_case(case_id)
    if not policy.can_manage_case(current_user, case):
        abort(403)
    return case


def editable_beneficiary(beneficiary_id: int) -> Beneficiary:
    beneficiary = found_or_404(policy.get_beneficiary(db.session, current_user, beneficiary_id))
    if not policy.can_edit_beneficiary(current_user, beneficiary):
        abort(403)
    return beneficiary


# --- list and search ----------------------------------------------------------------------------

def search_cases(user: User, q: str, state: str | None, mine: bool) -> sa.Select:
    """Scoped case search, as ordered case ids (cases in progress first, then by last change): by
    name, birth year or phone for mediators (ignoring case and accents, :mod:`mediation.cases.search`),
    by case or beneficiary number for everyone (coordinators never search by name: they do not see
    names)."""
    # Beneficiaries are joined only for a name search: the count and the sort stay on ``cases``.
    query = policy.visible_cases(user).with_only_columns(Case.id)
    if state in {s.value for s in CaseState}:
        query = query.where(Case.state == state)
    if mine:
        query = query.where(Case.mediator_id == user.id)
    q = q.strip()
    if q:
        # Beneficiary.id is Case.beneficiary_id: a number matches either without the join.
        identity = policy.can_see_identity(user)
        if identity:
            query = query.join(Beneficiary, Beneficiary.id == Case.beneficiary_id)
        query = query.where(person_condition(q, identity=identity, ids=(Case.id, Case.beneficiary_id)))
    # The literal (not a bound parameter) lets the expression indexes ix_cases_*_closed_updated serve the sort.
    return query.order_by(Case.state == sa.literal_column("'clos'"), Case.updated_at.desc(), Case.id.desc())


@bp.route("/dossiers")
@access(*STAFF)
def case_list():
    q = (request.args.get("q") or "").strip()[:100]
    state = request.args.get("etat") or None
    mine = request.args.get("mes") == "1" and current_user.role == Role.MEDIATOR
    page = paginate(db.session, search_cases(current_user, q, state, mine), page_arg(request.args), per_page=25)
    # Narrow ids first (a cheap sort), then the page's rows with what they show.
    loaded = {c.id: c for c in db.session.scalars(
        sa.select(Case).where(Case.id.in_(page.items))
        .options(joinedload(Case.beneficiary).joinedload(Beneficiary.residence_commune),
                 joinedload(Case.structure), joinedload(Case.mediator)))}
    page.items = [loaded[case_id] for case_id in page.items]
    last_activity = services.last_activity_dates(db.session, [c.id for c in page.items])
    # Without the name (coordinators, admins), what tells the cases apart: commune, pathway level.
    sees_names = policy.can_see_identity(current_user)
    progress = signals.case_summaries(db.session, [c.id for c in page.items]) if not sees_names and page.items else {}
    args = {k: v for k, v in {"q": q, "etat": state, "mes": "1" if mine else None}.items() if v}
    return render_template(
        "cases/case_list.html", page=page, last_activity=last_activity, q=q, state=state, mine=mine, states=CaseState,
        sees_names=sees_names, progress=progress,
        can_search_names=policy.can_see_identity(current_user),
        can_create=current_user.role == Role.MEDIATOR,
        page_url=lambda n: url_for("cases.case_list", page=n, **args),
    )


# --- case detail and actions --------------------------------------------------------------------

@bp.route("/dossiers/<int:case_id>")
@access(*STAFF)
def case_detail(case_id: int):
    case = load_case(case_id, joinedload(Case.beneficiary).joinedload(Beneficiary.residence_commune),
                     joinedload(Case.structure), joinedload(Case.mediator))
    show_notes = policy.can_see_notes(current_user)
    timeline = services.case_timeline(db.session, case, with_notes=show_notes)
    actor_ids = {e.actor_id for e in timeline if e.actor_id}
    actors = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(actor_ids)))} if actor_ids else {}
    other_cases = db.session.scalars(
        policy.visible_cases(current_user).where(Case.beneficiary_id == case.beneficiary_id, Case.id != case.id)
        .order_by(Case.opened_at.desc())
    ).all()
    show_identity = policy.can_see_identity(current_user)
    # Mediators only (the duplicates pages are theirs); anonymous records have nothing to compare.
    duplicate_pairs = (duplicates.find_duplicate_pairs(db.session, current_user, beneficiary_id=case.beneficiary_id)
                       if show_identity and not case.beneficiary.anonymous else [])
    return render_template(
        "cases/case_detail.html", case=case, beneficiary=case.beneficiary, timeline=timeline, actors=actors,
        duplicate_pairs=duplicate_pairs,
        other_cases=other_cases, show_identity=show_identity, show_notes=show_notes,
        can_manage=policy.can_manage_case(current_user, case), action_labels=ACTION_LABELS,
        state_form=CaseStateForm(), note_form=CaseNoteForm(), consent_form=ConsentForm(),
        consents=case.beneficiary.consents, states=CaseState, closure_reasons=ClosureReason,
        age_band=case.beneficiary.tranche_age_at(),
    )


@bp.route("/dossiers/<int:case_id>/etat", methods=["POST"])
@access(Role.MEDIATOR)
def case_state(case_id: int):
    case = managed_case(case_id)
    form = CaseStateForm()
    if form.validate_on_submit():
        moves = {
            "pause": (services.pause_case, (), "Dossier mis en pause."),
            "reprendre": (services.resume_case, (), "Dossier repris."),
            "clore": (services.close_case, (form.reason.data or None,), "Dossier clos."),
            "rouvrir": (services.reopen_case, (), "Dossier rouvert."),
        }
        if form.action.data not in moves:
            abort(400)
        move, args, message = moves[form.action.data]
        try:
            move(db.session, current_user, case, *args)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(message, "success")
    return redirect(url_for("cases.case_detail", case_id=case.id))


@bp.route("/dossiers/<int:case_id>/notes", methods=["POST"])
@access(Role.MEDIATOR)
def case_note(case_id: int):
    case = managed_case(case_id)
    form = CaseNoteForm()
    if form.validate_on_submit():
        try:
            services.add_case_note(db.session, current_user, case, form.body.data)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Note ajoutée.", "success")
    return redirect(url_for("cases.case_detail", case_id=case.id, _anchor="chronologie"))


@bp.route("/dossiers/<int:case_id>/consentements", methods=["POST"])
@access(Role.MEDIATOR)
def consent_new(case_id: int):
    case = managed_case(case_id)
    form = ConsentForm()
    if form.validate_on_submit():
        given_on = form.given_on.date
        given_at = None
        if given_on and given_on != local_today():
            given_at = datetime.combine(given_on, time(12), tzinfo=PARIS).astimezone(UTC)
        try:
            services.record_consent(db.session, current_user, case.beneficiary, form.scope.data or "",
                                    case.structure_id, given_at=given_at)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Consentement enregistré.", "success")
    return redirect(url_for("cases.case_detail", case_id=case.id, _anchor="consentements"))


@bp.route("/dossiers/<int:case_id>/consentements/<int:consent_id>/retirer", methods=["POST"])
@access(Role.MEDIATOR)
def consent_withdraw(case_id: int, consent_id: int):
    case = managed_case(case_id)
    consent = policy.get_consent(db.session, current_user, consent_id)
    if consent is None or consent.beneficiary_id != case.beneficiary_id:
        abort(404)
    if BaseForm().validate_on_submit():
        try:
            services.withdraw_consent(db.session, current_user, consent)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Consentement retiré.", "success")
    return redirect(url_for("cases.case_detail", case_id=case.id, _anchor="consentements"))


# --- beneficiaries ------------------------------------------------------------------------------

def _beneficiary_form_page(beneficiary: Beneficiary | None):
    status = 200
    form = BeneficiaryForm()
    structures = activities.mediator_structures(db.session, current_user)
    if not structures:
        abort(403)
    form.set_choices(structures=structures, communes=_territory_communes(structures))
    if beneficiary is not None:
        del form.structure_id
    if request.method == "GET" and beneficiary is not None:
        form.fill(services.beneficiary_input_from(beneficiary))
    elif form.validate_on_submit():
        possible = (_probable_duplicates(form) if beneficiary is None and request.form.get("confirme") != "1"
                    else [])
        if possible:  # shown first: take the existing person, or confirm creating anyway (nothing saved yet)
            return render_template("cases/beneficiary_form.html", form=form, beneficiary=None,
                                   single_structure=len(structures) == 1, duplicates=possible)
        try:
            if beneficiary is None:
                structure_id = int(form.structure_id.data or structures[0].id)
                if structure_id not in {s.id for s in structures}:
                    raise DomainError("Veuillez choisir une de vos structures", field="structure_id")
                created = services.create_beneficiary(db.session, current_user, structure_id, form.to_input())
                case = services.live_case(db.session, created.id)
                flash("Bénéficiaire créé et dossier ouvert.", "success")
                return redirect(url_for("cases.case_detail", case_id=case.id))
            changed = services.update_beneficiary(db.session, current_user, beneficiary, form.to_input())
            flash("Fiche modifiée." if changed else "Aucune modification.", "success")
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            case = services.live_case(db.session, beneficiary.id) or db.session.scalar(
                policy.visible_cases(current_user).where(Case.beneficiary_id == beneficiary.id)
                .order_by(Case.opened_at.desc()).limit(1))
            return redirect(url_for("cases.case_detail", case_id=case.id) if case else url_for("cases.case_list"))
    return render_template("cases/beneficiary_form.html", form=form, beneficiary=beneficiary,
                           single_structure=len(structures) == 1), status


def _probable_duplicates(form: BeneficiaryForm) -> list[dict]:
    """The people in scope the new one would probably duplicate (the duplicates page's rule), with
    what tells them apart and their case."""
    pairs = duplicates.duplicates_of_new(db.session, current_user, form.to_input())
    if not pairs:
        return []
    people = duplicates.load_pair_records(db.session, pairs)
    found = []
    for pair in pairs[:10]:
        person = people[pair.second_id]
        case = services.live_case(db.session, person.id) or db.session.scalar(
            policy.visible_cases(current_user).where(Case.beneficiary_id == person.id)
            .order_by(Case.opened_at.desc()).limit(1))
        found.append({"person": person, "option": picker.option_for(current_user, person), "case": case,
                      "criteria": pair.criteria_labels})
    return found


@bp.route("/beneficiaires/recherche", methods=["POST"])
@access(Role.MEDIATOR)
def beneficiary_search():
    """The person picker's suggestions (static/js/person-picker.js), as JSON: at most 20 identified
    people in the user's scope. The query is POSTed so that it never appears in a URL or a log."""
    people, _more = picker.search_people(db.session, current_user, request.form.get("q", ""))
    response = jsonify([person.as_json() for person in people])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/beneficiaires/nouveau", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def beneficiary_new():
    return _beneficiary_form_page(None)


@bp.route("/beneficiaires/<int:beneficiary_id>/modifier", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def beneficiary_edit(beneficiary_id: int):
    return _beneficiary_form_page(editable_beneficiary(beneficiary_id))

