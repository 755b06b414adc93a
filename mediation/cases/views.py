"""Pages of activity records (CRA): log an individual session or a workshop, list, detail, edit,
delete, duplicate. Case and beneficiary pages are in :mod:`mediation.cases.case_views`.

Every handler loads through the user's scope (cases/policy.py), checks the policy, acts through
a service and renders; an out-of-scope id is a 404.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import joinedload, selectinload

from mediation.auth.models import Role, User
from mediation.cases import activities, picker, policy, tags
from mediation.cases.enums import (
    DURATION_PRESETS,
    ActivityType,
    CaseState,
    DemarcheThematique,
    Thematique,
    thematique_label,
)
from mediation.cases.forms import IndividualActivityForm, WorkshopForm
from mediation.cases.models import Activity, ActivityTag, ActivityThematique, Beneficiary, Case, Participation
from mediation.directory.loans import loan_places_for
from mediation.directory.models import Commune, Structure
from mediation.directory.scopes import structure_scope
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import BaseForm, PickSource, list_filter, show_domain_error
from mediation.pagination import page_arg, paginate
from mediation.policy import access, found_or_404
from mediation.types import local_today

bp = Blueprint("cases", __name__)

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)


@bp.app_context_processor
def inject_helpers():
    def beneficiary_label(beneficiary):
        return policy.beneficiary_label(current_user, beneficiary)

    return {"beneficiary_label": beneficiary_label, "thematique_label": thematique_label}


def load_activity(activity_id: int) -> Activity:
    activity = found_or_404(policy.get_activity(db.session, current_user, activity_id))
    return activity


def editable_activity(activity_id: int) -> Activity:
    activity = load_activity(activity_id)
    if not policy.can_edit_activity(current_user, activity):
        abort(403)
    return activity


def _territory_communes(structures) -> list[Commune]:
    territory_ids = {s.commune.territory_id for s in structures}
    query = sa.select(Commune).where(Commune.territory_id.is_not(None)).order_by(Commune.name)
    if territory_ids:
        query = query.where(Commune.territory_id.in_(territory_ids))
    return list(db.session.scalars(query))


def _followed_beneficiaries(user: User, limit: int | None = None) -> list[Beneficiary]:
    """The people followed right now: a case in progress held by one of the user's structures
    (others are reached from their case page, « Enregistrer un accompagnement »)."""
    # A case held in scope makes the person visible (policy.visible_beneficiaries): join on it directly.
    query = (
        sa.select(Beneficiary).join(Case, Case.beneficiary_id == Beneficiary.id)
        .where(Case.state != CaseState.CLOSED, Beneficiary.deleted_at.is_(None), Beneficiary.anonymous.is_(False))
        .order_by(Beneficiary.last_name, Beneficiary.first_name, Beneficiary.id)
    )
    scope = structure_scope(user)
    if scope is not None:
        query = query.where(Case.structure_id.in_(scope))
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query).unique())


def _person_picker(form, activity_type: ActivityType) -> picker.Picker:
    """The person picker of the form (macros/person_picker.html): the people chosen, then those
    matching the search, or else the first people followed right now."""
    individual = activity_type == ActivityType.INDIVIDUEL
    field = form.beneficiary_id if individual else form.participant_ids
    selected = field.data if isinstance(field.data, list) else [field.data]
    return picker.build_picker(
        db.session, current_user, name=field.name, selected=[v for v in selected if v],
        label="Bénéficiaire suivi" if individual else "Participants suivis",
        search_label="Rechercher un bénéficiaire suivi" if individual else "Rechercher un participant suivi",
        q=request.form.get(f"{field.name}_recherche", ""),
        searched=request.form.get(picker.SEARCH_BUTTON) == field.name, multiple=not individual,
        suggested=_followed_beneficiaries(current_user, limit=picker.MAX_RESULTS + 1),
        hint=field.description, none_label="Aucun : anonyme ou nouveau" if individual else None,
        error=" ".join(field.errors) or None,
    )


def _places(structures) -> list[Structure]:
    """The mediator's structures first, then the other structures of their territories."""
    own = {s.id for s in structures}
    territory_ids = {s.commune.territory_id for s in structures}
    others = db.session.scalars(
        sa.select(Structure).join(Commune, Commune.id == Structure.commune_id)
        .where(Commune.territory_id.in_(territory_ids), Structure.archived_at.is_(None), Structure.id.not_in(own))
        .order_by(Structure.name)
    ) if territory_ids else []
    return [*structures, *others]


def _prepare(form, user: User):
    structures = activities.mediator_structures(db.session, user)
    lent = loan_places_for(db.session, user, local_today())  # places of a current loan, offered first
    form.set_choices(structures=structures, places=list(dict.fromkeys([*structures, *lent.structures, *_places(structures)])),
                     communes=list(dict.fromkeys([*lent.communes, *_territory_communes(structures)])),
                     beneficiaries=())
    form.set_tags(tags.offered_tags(db.session, user))
    return structures


def _form_for(activity_type: ActivityType):
    return IndividualActivityForm() if activity_type == ActivityType.INDIVIDUEL else WorkshopForm()


def _initial_input(activity_type: ActivityType):
    """Defaults for a new activity: duplicate (?dupliquer=id), same person (?beneficiaire=id), or the
    mediator's usual place and duration."""
    copy_id = request.args.get("dupliquer", type=int)
    if copy_id:
        source = load_activity(copy_id)
        if source.type == activity_type:
            return activities.input_from_activity(source, for_copy=True)
    defaults = activities.activity_defaults(db.session, current_user, activity_type)
    data = activities.ActivityInput(
        type=activity_type, structure_id=defaults.structure_id, date=local_today(),
        duration_min=defaults.duration_min, place_type=defaults.place_type,
        place_structure_id=defaults.place_structure_id, place_commune_id=defaults.place_commune_id,
    )
    beneficiary_id = request.args.get("beneficiaire", type=int)
    if beneficiary_id and activity_type == ActivityType.INDIVIDUEL:
        beneficiary = policy.get_beneficiary(db.session, current_user, beneficiary_id)
        if beneficiary is None or beneficiary.anonymous:
            abort(404)
        data.beneficiary_id = beneficiary.id
    return data


def _activity_form_page(activity_type: ActivityType, activity: Activity | None = None):
    status = 200
    form = _form_for(activity_type)
    if request.method == "GET":
        data = activities.input_from_activity(activity) if activity else _initial_input(activity_type)
        form.fill(data)
        if activity_type == ActivityType.INDIVIDUEL and data.beneficiary_id:
            form.focus_topics()
    elif not picker.search_requested(request.form) and form.validate_on_submit():  # a search saves nothing
        data = form.to_input()
        loader = policy.beneficiary_loader(db.session, current_user)
        try:
            if activity is None:
                saved = activities.log_activity(db.session, current_user, data, visible_beneficiary=loader)
                n = saved.participants_count
                flash(f"{saved.type.label} enregistré ({n} participant{'s' if n > 1 else ''}).", "success")
            else:
                saved = activity
                changed = activities.update_activity(db.session, current_user, activity, data,
                                                     visible_beneficiary=loader)
                flash("Activité modifiée." if changed else "Aucune modification.", "success")
        except DomainError as error:
            status = show_domain_error(form, error, form.ALIASES)
        else:
            return redirect(url_for("cases.activity_detail", activity_id=saved.id))
    structures = _prepare(form, current_user)  # the choices, only when the page is shown
    if not structures:  # (a POST was refused by the rules: the structure is not theirs)
        flash("Vous n'êtes rattaché·e à aucune structure : demandez à votre coordination de vous rattacher.", "error")
        return redirect(url_for("home.index"))
    template = "cases/activity_individual.html" if activity_type == ActivityType.INDIVIDUEL else "cases/activity_workshop.html"
    return render_template(template, form=form, activity=activity, single_structure=structures[0]
                           if len(structures) == 1 else None, presets=DURATION_PRESETS,
                           person_picker=_person_picker(form, activity_type),
                           frequent_topics=set(activities.frequent_thematiques(db.session, current_user))), status


@bp.route("/activites/nouvelle", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def activity_new():
    """Log an individual session (the most frequent action: the first field is focused)."""
    return _activity_form_page(ActivityType.INDIVIDUEL)


@bp.route("/activites/atelier/nouveau", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def workshop_new():
    return _activity_form_page(ActivityType.COLLECTIF)


@bp.route("/activites/<int:activity_id>/modifier", methods=["GET", "POST"])
@access(Role.MEDIATOR)
def activity_edit(activity_id: int):
    activity = editable_activity(activity_id)
    if activity.deleted_at is not None:
        abort(404)
    return _activity_form_page(activity.type, activity)


@bp.route("/activites/<int:activity_id>/dupliquer")
@access(Role.MEDIATOR)
def activity_duplicate(activity_id: int):
    activity = load_activity(activity_id)
    endpoint = "cases.activity_new" if activity.type == ActivityType.INDIVIDUEL else "cases.workshop_new"
    return redirect(url_for(endpoint, dupliquer=activity.id))


@bp.route("/activites/<int:activity_id>/supprimer", methods=["POST"])
@access(Role.MEDIATOR)
def activity_delete(activity_id: int):
    activity = editable_activity(activity_id)
    if BaseForm().validate_on_submit():
        try:
            activities.delete_activity(db.session, current_user, activity)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Activité supprimée. Elle ne compte plus dans les statistiques ; vous pouvez la restaurer.",
                  "success")
    return redirect(url_for("cases.activity_detail", activity_id=activity.id))


@bp.route("/activites/<int:activity_id>/restaurer", methods=["POST"])
@access(Role.MEDIATOR)
def activity_restore(activity_id: int):
    activity = editable_activity(activity_id)
    if BaseForm().validate_on_submit():
        try:
            activities.restore_activity(db.session, current_user, activity)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash("Activité restaurée.", "success")
    return redirect(url_for("cases.activity_detail", activity_id=activity.id))


@bp.route("/activites/<int:activity_id>")
@access(*STAFF)
def activity_detail(activity_id: int):
    activity = policy.get_activity(
        db.session, current_user, activity_id,
        selectinload(Activity.participations).joinedload(Participation.beneficiary),
        joinedload(Activity.mediator), joinedload(Activity.structure),
        joinedload(Activity.place_structure), joinedload(Activity.place_commune),
    )
    if activity is None:
        abort(404)
    counters = activities.workshop_counters(activity) if activity.is_workshop else None
    followed = [p for p in activity.participations if not p.beneficiary.anonymous]
    anonymous = [p for p in activity.participations if p.beneficiary.anonymous]
    return render_template(
        "cases/activity_detail.html", activity=activity, counters=counters, followed=followed,
        anonymous=anonymous, anonymous_new=sum(1 for p in anonymous if p.first_accompaniment),
        can_edit=policy.can_edit_activity(current_user, activity), show_notes=policy.can_see_notes(current_user),
        show_identity=policy.can_see_identity(current_user),
    )


# --- list ---------------------------------------------------------------------------------------

def _parse_date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def list_filters(args) -> dict:
    """Filters of the activity list (the national tool's: du, au, type, thématique, structure, tags —
    an activity carrying any of the tags chosen)."""
    type_ = args.get("type") or None
    code = args.get("thematique") or None
    return {
        "du": _parse_date(args.get("du")),
        "au": _parse_date(args.get("au")),
        "type": type_ if type_ in {t.value for t in ActivityType} else None,
        "thematique": code if code in {t.value for t in Thematique} | {t.value for t in DemarcheThematique} else None,
        "structure": args.get("structure", type=int),
        # a network of thousands of structures: a part of the name (mediation.forms.ListFilter)
        "structure_nom": (args.get("structure_nom") or "").strip()[:100],
        "tags": sorted({int(v) for v in args.getlist("tag") if str(v).isdigit()}),
    }


def filtered_activities(user: User, filters: dict) -> sa.Select:
    query = policy.visible_activities(user)
    if filters["du"]:
        query = query.where(Activity.date >= filters["du"])
    if filters["au"]:
        query = query.where(Activity.date <= filters["au"])
    if filters["type"]:
        query = query.where(Activity.type == filters["type"])
    if filters["thematique"]:
        query = query.where(Activity.id.in_(sa.select(ActivityThematique.activity_id)
                                            .where(ActivityThematique.code == filters["thematique"])))
    if filters["structure"]:
        query = query.where(Activity.structure_id == filters["structure"])
    if filters.get("structure_nom"):
        query = query.where(Activity.structure_id.in_(
            structure_source(user).values_matching(filters["structure_nom"].split())))
    if filters.get("tags"):
        query = query.where(Activity.id.in_(sa.select(ActivityTag.activity_id)
                                            .where(ActivityTag.tag_id.in_(filters["tags"]))))
    return query


def structure_source(user: User) -> PickSource:
    """The structures whose activities ``user`` sees, by name: the list filters' and the export's."""
    scope = structure_scope(user)
    query = sa.select(Structure).order_by(Structure.name, Structure.id)
    if scope is not None:
        query = query.where(Structure.id.in_(scope))
    return PickSource(query, Structure.id, Structure.name)


@bp.route("/activites")
@access(*STAFF)
def activity_list():
    filters = list_filters(request.args)
    ids = filtered_activities(current_user, filters).with_only_columns(Activity.id).order_by(
        Activity.date.desc(), Activity.id.desc())
    page = paginate(db.session, ids, page_arg(request.args), per_page=25)
    # Narrow ids first (a cheap sort), then the page's rows with what they show.
    loaded = {a.id: a for a in db.session.scalars(
        sa.select(Activity).where(Activity.id.in_(page.items))
        .options(joinedload(Activity.mediator), joinedload(Activity.structure),
                 selectinload(Activity.thematique_rows), selectinload(Activity.tags),
                 selectinload(Activity.participations).joinedload(Participation.beneficiary)))}
    page.items = [loaded[activity_id] for activity_id in page.items]
    args = {("tag" if k == "tags" else k): (v.isoformat() if isinstance(v, date) else v)
            for k, v in filters.items() if v}
    return render_template(
        "cases/activity_list.html", page=page, filters=filters, args=args,
        structure_filter=list_filter(db.session, structure_source(current_user), request.args, name="structure",
                                     label="Structure", all_label="Toutes"),
        types=ActivityType, thematiques=Thematique,
        demarches=DemarcheThematique, can_log=policy.can_log_activity(current_user),
        tag_choices=tags.filter_tags(db.session, current_user),
        page_url=lambda n: url_for("cases.activity_list", page=n, **args),
    )


# Case and beneficiary pages register on the same blueprint.
from mediation.cases import case_views, tag_views  # noqa: E402, F401
