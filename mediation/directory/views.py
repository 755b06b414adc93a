"""Directory pages: structures, territories and communes, staff accounts and memberships.

Each handler loads through the user's scope (404 outside it), checks ``directory.policy`` (403),
acts through ``directory.services`` / ``directory.staff`` / ``directory.exchange``, renders.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from mediation.auth.models import Role, User
from mediation.directory import exchange, forms, needs, policy, services, staff
from mediation.directory.loans import active_loans
from mediation.directory.models import Commune, StaffMembership, Structure, Territory
from mediation.directory.national_schema import LIST_FIELDS
from mediation.downloads import file_response
from mediation.errors import DomainError
from mediation.extensions import db
from mediation.forms import PickSource, list_filter, pick_list, show_domain_error
from mediation.pagination import page_arg, paginate
from mediation.policy import access, found_or_404
from mediation.text import de
from mediation.types import local_today

bp = Blueprint("directory", __name__, url_prefix="/annuaire")

STAFF = policy.DIRECTORY_READERS
ADMINS = policy.DIRECTORY_ADMINS


# --- helpers ---------------------------------------------------------------------------------

class _UnknownChoice(Exception):
    """A select could not be resolved: its field already carries the French error."""


def _allow(condition: bool) -> None:
    if not condition:
        abort(403)


def _id_or_none(value) -> int | None:
    return int(value) if value and str(value).isdigit() else None


def _pick(field, load, *, required: str | None = None):
    """The object a select designates, loaded through the user's scope (None if empty and
    optional). Raises _UnknownChoice, with a French error on the field, when it is required and
    empty or not among what the user may choose."""
    if not field.data and not required:
        return None
    found = load(_id_or_none(field.data) or 0) if field.data else None
    if found is None:
        field.errors = [*field.errors, required if not field.data else "Choisissez une valeur de la liste proposée."]
        raise _UnknownChoice
    return found


def _territory(territory_id: int) -> Territory | None:
    return policy.get_territory(db.session, current_user, territory_id)


def _editable_structure(structure_id: int) -> Structure | None:
    return policy.get_structure_for_edit(db.session, current_user, structure_id)


def _structure_filters():
    return {
        "q": (request.args.get("q") or "").strip(),
        "commune": (request.args.get("commune") or "").strip(),
        "archived": request.args.get("archived") == "1",
        "unlisted": request.args.get("non_repertories") == "1",
    }


def _filtered_structures(filters: dict) -> sa.Select:
    query = policy.visible_structures(current_user, include_archived=filters["archived"] or filters["unlisted"])
    if filters["unlisted"]:
        query = query.where(Structure.unlisted.is_(True))
    if filters["q"]:
        pattern = f"%{filters['q']}%"
        query = query.where(sa.or_(Structure.name.ilike(pattern), Structure.siret == filters["q"]))
    if filters["commune"]:  # a code INSEE, or a commune's name (the text field of a large network)
        value = filters["commune"]
        query = query.where(sa.or_(Commune.insee_code == value.upper(),
                                   sa.func.lower(Commune.name) == value.lower()))
    return query.order_by(Structure.name, Structure.id)


# A network with more communes than this gets a text field (name or code INSEE) instead of a list:
# 24 000 options made the page 800 KB (10 million accompaniments).
COMMUNE_CHOICES_MAX = 300


def _commune_choices() -> list[Commune] | None:
    listed = sa.select(Commune).where(Commune.territory_id.is_not(None))
    if db.session.scalar(sa.select(sa.func.count()).select_from(listed.subquery())) > COMMUNE_CHOICES_MAX:
        return None
    return db.session.scalars(listed.order_by(Commune.name)).all()


# --- structures ------------------------------------------------------------------------------

@bp.route("/structures")
@access(*STAFF)
def structure_list():
    filters = _structure_filters()
    page = paginate(db.session, _filtered_structures(filters), page_arg(request.args))
    args = {"q": filters["q"] or None, "commune": filters["commune"] or None,
            "archived": "1" if filters["archived"] else None,
            "non_repertories": "1" if filters["unlisted"] else None}
    return render_template(
        "directory/structure_list.html", page=page, q=filters["q"], filters=filters,
        communes=_commune_choices(),
        can_create=policy.can_create_structure(current_user),
        can_import=policy.can_import_structures(current_user),
        export_url=url_for("directory.structure_export", **args),
        page_url=lambda n: url_for("directory.structure_list", page=n, **args),
    )


@bp.route("/structures/export.csv")
@access(*STAFF)
def structure_export():
    structures = db.session.scalars(_filtered_structures(_structure_filters())).all()
    filename = f"lieux-mediation-numerique-{local_today().isoformat()}.csv"
    return file_response(exchange.export_csv(structures), filename, "text/csv")


@bp.route("/structures/<int:structure_id>")
@access(*STAFF)
def structure_detail(structure_id: int):
    structure = found_or_404(policy.get_visible_structure(db.session, current_user, structure_id))
    show_staff = policy.can_view_structure_staff(current_user, structure)
    memberships = []
    if show_staff:
        memberships = db.session.scalars(
            sa.select(StaffMembership).options(selectinload(StaffMembership.user))
            .where(StaffMembership.structure_id == structure.id)
            .order_by(StaffMembership.ended_on.is_not(None), StaffMembership.started_on.desc())
        ).all()
    return render_template(
        "directory/structure_detail.html", structure=structure, list_fields=LIST_FIELDS,
        show_staff=show_staff, memberships=memberships, today=local_today(),
        can_edit=policy.can_edit_structure(current_user, structure), confirm=forms.ConfirmForm(),
        loans=active_loans(db.session, structure=structure),  # mediators lent here
    )


def _structure_form(form: forms.StructureForm) -> None:
    """The commune's pick-list (a search in a network of thousands of communes); after the data is set."""
    pick_list(form.commune, db.session,
              PickSource(policy.editable_communes(current_user), Commune.id, Commune.name,
                         searched=(Commune.insee_code, Commune.postal_code), format=lambda r: f"{r[1]} ({r[2]})"),
              noun="communes")


def _structure_data(form: forms.StructureForm) -> dict:
    data = {name: form[name].data for name in services.STRUCTURE_FIELDS if name in form and name != "date_maj"}
    data["courriels"] = [e for e in (data.get("courriels") or "").replace(";", ",").split(",") if e.strip()]
    return data


def _selected_commune(form: forms.StructureForm) -> Commune | None:
    return _pick(form.commune, lambda i: policy.get_commune_for_edit(db.session, current_user, i),
                 required="Choisissez la commune.")


@bp.route("/structures/nouvelle", methods=["GET", "POST"])
@access(*ADMINS)
def structure_create():
    status = 200
    form = forms.StructureForm()
    if request.method == "GET" and request.args.get("commune"):
        form.commune.data = request.args["commune"]
    _structure_form(form)
    if form.validate_on_submit():
        try:
            commune = _selected_commune(form)
            structure = services.create_structure(db.session, current_user, commune, _structure_data(form))
        except _UnknownChoice:
            pass
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"La structure « {structure.name} » a été créée.", "success")
            return redirect(url_for("directory.structure_detail", structure_id=structure.id))
    return render_template("directory/structure_form.html", form=form, structure=None,
                           fieldsets=forms.STRUCTURE_FIELDSETS), status


@bp.route("/structures/<int:structure_id>/modifier", methods=["GET", "POST"])
@access(*ADMINS)
def structure_edit(structure_id: int):
    status = 200
    structure = found_or_404(policy.get_structure_for_edit(db.session, current_user, structure_id))
    form = forms.StructureForm(obj=structure if request.method == "GET" else None)
    if request.method == "GET":
        form.commune.data = str(structure.commune_id)
        form.courriels.data = ", ".join(structure.courriels or [])
        for name in ("latitude", "longitude"):
            value = getattr(structure, name)
            form[name].data = "" if value is None else str(value).replace(".", ",")
    _structure_form(form)
    if form.validate_on_submit():
        try:
            commune = _selected_commune(form)
            changed = services.update_structure(db.session, current_user, structure, _structure_data(form),
                                                commune=commune)
        except _UnknownChoice:
            pass
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Modifications enregistrées." if changed else "Aucune modification.", "success")
            return redirect(url_for("directory.structure_detail", structure_id=structure.id))
    return render_template("directory/structure_form.html", form=form, structure=structure,
                           fieldsets=forms.STRUCTURE_FIELDSETS), status


@bp.route("/structures/<int:structure_id>/archiver", methods=["POST"])
@access(*ADMINS)
def structure_archive(structure_id: int):
    structure = found_or_404(policy.get_structure_for_edit(db.session, current_user, structure_id))
    if forms.ConfirmForm().validate_on_submit():
        try:
            services.archive_structure(db.session, current_user, structure)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"La structure « {structure.name} » est archivée : elle n'apparaît plus dans les listes "
                  "ni dans les exports.", "success")
    return redirect(url_for("directory.structure_detail", structure_id=structure_id))


@bp.route("/structures/<int:structure_id>/restaurer", methods=["POST"])
@access(*ADMINS)
def structure_restore(structure_id: int):
    structure = found_or_404(policy.get_structure_for_edit(db.session, current_user, structure_id))
    if forms.ConfirmForm().validate_on_submit():
        unlisted = structure.unlisted
        try:
            services.restore_structure(db.session, current_user, structure)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(f"Le lieu « {structure.name} » est publié dans l'annuaire." if unlisted
                  else f"La structure « {structure.name} » est de nouveau active.", "success")
    return redirect(url_for("directory.structure_detail", structure_id=structure_id))


@bp.route("/structures/import", methods=["GET", "POST"])
@access(*ADMINS)
def structure_import():
    form = forms.ImportForm()
    report = None
    if form.validate_on_submit():
        report = exchange.import_structures(db.session, current_user, form.file.data.read(),
                                            dry_run=form.dry_run.data)
        if report.applied:
            flash(f"Import terminé : {report.created} structure(s) créée(s), {report.updated} mise(s) à jour, "
                  f"{report.unchanged} inchangée(s).", "success")
    status = 422 if report is not None and not report.ok else 200  # refused: nothing was written
    return render_template("directory/structure_import.html", form=form, report=report,
                           dry_run=bool(form.dry_run.data)), status


@bp.route("/communes/besoins/import", methods=["GET", "POST"])
@access(*ADMINS)
def needs_import():
    """Need indicators per commune (observatoire): a CSV of open data, checked before it is applied."""
    form = forms.NeedsImportForm()
    report = None
    if form.validate_on_submit():
        report = needs.import_needs(db.session, current_user, form.file.data.read(), dry_run=form.dry_run.data)
        if report.applied:
            flash(f"Import terminé : indicateurs de {report.created + report.updated} commune(s) enregistrés.",
                  "success")
    status = 422 if report is not None and not report.ok else 200  # refused: nothing was written
    return render_template("directory/needs_import.html", form=form, report=report, columns=needs.INDICATORS,
                           dry_run=bool(form.dry_run.data)), status


# --- territories and communes ----------------------------------------------------------------

@bp.route("/territoires")
@access(*ADMINS)
def territory_list():
    communes = (
        sa.select(sa.func.count(Commune.id)).where(Commune.territory_id == Territory.id)
        .correlate(Territory).scalar_subquery()
    )
    structures = (
        sa.select(sa.func.count(Structure.id)).join(Commune, Structure.commune_id == Commune.id)
        .where(Commune.territory_id == Territory.id, Structure.archived_at.is_(None))
        .correlate(Territory).scalar_subquery()
    )
    query = (
        policy.visible_territories(current_user)
        .add_columns(communes.label("communes"), structures.label("structures"))
        .order_by(Territory.name)
    )
    page = paginate(db.session, query, page_arg(request.args), scalars=False)
    return render_template(
        "directory/territory_list.html", page=page,
        can_create=policy.can_create_territory(current_user),
        page_url=lambda n: url_for("directory.territory_list", page=n),
    )


@bp.route("/territoires/nouveau", methods=["GET", "POST"])
@access(Role.ADMIN)
def territory_create():
    status = 200
    form = forms.TerritoryForm()
    if form.validate_on_submit():
        try:
            territory = services.create_territory(db.session, current_user, form.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"Le territoire « {territory.name} » a été créé.", "success")
            return redirect(url_for("directory.territory_detail", territory_id=territory.id))
    return render_template("directory/territory_form.html", form=form, territory=None), status


@bp.route("/territoires/<int:territory_id>")
@access(*ADMINS)
def territory_detail(territory_id: int):
    territory = found_or_404(policy.get_territory(db.session, current_user, territory_id))
    count = sa.func.count(Structure.id)
    query = (
        sa.select(Commune, count.label("structures"))
        .outerjoin(Structure, sa.and_(Structure.commune_id == Commune.id, Structure.archived_at.is_(None)))
        .where(Commune.territory_id == territory.id)
        .group_by(Commune.id)
        .order_by(Commune.name)
    )
    page = paginate(db.session, query, page_arg(request.args), per_page=50, scalars=False)
    coordinators = db.session.scalars(
        sa.select(User).where(User.role == Role.COORDINATOR, User.territory_id == territory.id)
        .order_by(User.last_name, User.first_name)
    ).all()
    return render_template(
        "directory/territory_detail.html", territory=territory, page=page, coordinators=coordinators,
        can_edit=policy.can_edit_territory(current_user, territory),
        can_manage=policy.can_manage_territory(current_user, territory),
        page_url=lambda n: url_for("directory.territory_detail", territory_id=territory.id, page=n),
    )


@bp.route("/territoires/<int:territory_id>/modifier", methods=["GET", "POST"])
@access(Role.ADMIN)
def territory_edit(territory_id: int):
    status = 200
    territory = found_or_404(policy.get_territory(db.session, current_user, territory_id))
    form = forms.TerritoryForm(obj=territory if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_territory(db.session, current_user, territory, form.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Modifications enregistrées.", "success")
            return redirect(url_for("directory.territory_detail", territory_id=territory.id))
    return render_template("directory/territory_form.html", form=form, territory=territory), status


def _commune_form(form: forms.CommuneForm) -> None:
    if policy.can_move_commune(current_user):
        form.territory.choices = forms.options(
            (str(t.id), t.name) for t in db.session.scalars(sa.select(Territory).order_by(Territory.name))
        )
    else:
        del form.territory


def _commune_data(form: forms.CommuneForm) -> dict:
    return {name: form[name].data for name in services.COMMUNE_FIELDS}


@bp.route("/territoires/<int:territory_id>/communes/nouvelle", methods=["GET", "POST"])
@access(*ADMINS)
def commune_create(territory_id: int):
    status = 200
    territory = found_or_404(policy.get_territory(db.session, current_user, territory_id))
    _allow(policy.can_manage_territory(current_user, territory))
    form = forms.CommuneForm()
    del form.territory
    if form.validate_on_submit():
        try:
            commune = services.create_commune(db.session, current_user, territory, _commune_data(form))
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"La commune {commune.name} a été ajoutée.", "success")
            return redirect(url_for("directory.territory_detail", territory_id=territory.id))
    return render_template("directory/commune_form.html", form=form, territory=territory, commune=None), status


@bp.route("/communes/<int:commune_id>/modifier", methods=["GET", "POST"])
@access(*ADMINS)
def commune_edit(commune_id: int):
    status = 200
    commune = found_or_404(policy.get_commune_for_edit(db.session, current_user, commune_id))
    form = forms.CommuneForm(obj=commune if request.method == "GET" else None)
    _commune_form(form)
    if request.method == "GET":
        for name in ("population", "latitude", "longitude"):
            value = getattr(commune, name)
            form[name].data = "" if value is None else str(value).replace(".", ",")
        if "territory" in form:
            form.territory.data = str(commune.territory_id)
    if form.validate_on_submit():
        try:
            territory = None
            if "territory" in form:
                territory = _pick(form.territory, _territory, required="Choisissez le territoire.")
            services.update_commune(db.session, current_user, commune, _commune_data(form), territory=territory)
        except _UnknownChoice:
            pass
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Modifications enregistrées.", "success")
            return redirect(url_for("directory.territory_detail", territory_id=commune.territory_id))
    return render_template("directory/commune_form.html", form=form, territory=commune.territory,
                           commune=commune), status


# --- staff -----------------------------------------------------------------------------------

def _structures() -> PickSource:
    """The structures an administrator of the directory may attach people to, by name and commune."""
    query = (policy.editable_structures(current_user).join(Structure.commune)
             .where(Structure.archived_at.is_(None)).order_by(Structure.name, Structure.id))
    return PickSource(query, Structure.id, Structure.name, searched=(Commune.name,),
                      format=lambda r: f"{r[1]} — {r[2]}")


def _structure_choices(field, blank: str) -> None:
    pick_list(field, db.session, _structures(), blank=blank, noun="structures")


def _territory_choices() -> list[tuple[str, str]]:
    territories = db.session.scalars(policy.visible_territories(current_user).order_by(Territory.name))
    return [("", "—")] + [(str(t.id), t.name) for t in territories]


def _role_choices() -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in policy.assignable_roles(current_user)]


@bp.route("/comptes")
@access(*ADMINS)
def user_list():
    filters = {
        "q": (request.args.get("q") or "").strip(),
        "role": request.args.get("role") or "",
        "status": request.args.get("status") or "active",
    }
    query = policy.visible_users(current_user)
    if filters["q"]:
        pattern = f"%{filters['q']}%"
        query = query.where(sa.or_(User.last_name.ilike(pattern), User.first_name.ilike(pattern),
                                   User.email.ilike(pattern)))
    if filters["role"] in {r.value for r in Role}:
        query = query.where(User.role == filters["role"])
    structure = list_filter(db.session, _structures(), request.args, name="structure",
                            label="Structure (rattachement en cours)", all_label="Toutes les structures",
                            hint="Une partie du nom ou de la commune.")
    where = structure.clauses(StaffMembership.structure_id)
    if where:
        today = local_today()
        members = sa.select(StaffMembership.user_id).where(
            *where, StaffMembership.started_on <= today,
            sa.or_(StaffMembership.ended_on.is_(None), StaffMembership.ended_on >= today),
        )
        query = query.where(User.id.in_(members))
    if filters["status"] == "active":
        query = query.where(User.is_active_account.is_(True))
    elif filters["status"] == "inactive":
        query = query.where(User.is_active_account.is_(False))
    query = query.options(
        selectinload(User.memberships).selectinload(StaffMembership.structure),
        selectinload(User.territory),
    ).order_by(User.last_name, User.first_name, User.id)
    page = paginate(db.session, query, page_arg(request.args))
    today = local_today()
    rows = [(u, [m.structure for m in u.memberships if m.is_active_on(today)]) for u in page.items]
    args = {k: v for k, v in filters.items() if v and not (k == "status" and v == "active")} | structure.args()
    return render_template(
        "directory/user_list.html", page=page, rows=rows, filters=filters,
        roles=[(r.value, r.label) for r in Role if r != Role.BENEFICIARY],
        structure_filter=structure,
        page_url=lambda n: url_for("directory.user_list", page=n, **args),
    )


@bp.route("/comptes/nouveau", methods=["GET", "POST"])
@access(*ADMINS)
def user_create():
    status = 200
    form = forms.UserCreateForm()
    form.role.choices = forms.options(_role_choices())
    is_admin = current_user.role == Role.ADMIN
    if is_admin:
        form.territory.choices = forms.options(_territory_choices())
    else:
        del form.territory
    if request.method == "GET":
        form.role.data = Role.MEDIATOR.value
    _structure_choices(form.structure, blank="— Aucune —" if is_admin else "— Choisir —")
    if form.validate_on_submit():
        try:
            territory = _pick(form.territory, _territory) if is_admin else None
            structure = _pick(form.structure, _editable_structure)
            user = staff.create_user(
                db.session, current_user, email=form.email.data, first_name=form.first_name.data,
                last_name=form.last_name.data, role=form.role.data, territory=territory,
                organisation=form.organisation.data, is_conseiller_numerique=form.is_conseiller_numerique.data,
                is_aidant=form.is_aidant.data, structure=structure, started_on=form.started_on.data, job_title=form.job_title.data,
            )
        except _UnknownChoice:
            pass
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"Le compte {de(user.full_name)} a été créé ; un e-mail l'invite à choisir son mot de passe.",
                  "success")
            return redirect(url_for("directory.user_detail", user_id=user.id))
    return render_template("directory/user_form.html", form=form, user=None), status


@bp.route("/comptes/<int:user_id>")
@access(*ADMINS)
def user_detail(user_id: int):
    user = found_or_404(policy.get_user(db.session, current_user, user_id))
    memberships = db.session.scalars(
        sa.select(StaffMembership).options(selectinload(StaffMembership.structure).selectinload(Structure.commune))
        .where(StaffMembership.user_id == user.id)
        .order_by(StaffMembership.ended_on.is_not(None), StaffMembership.started_on.desc())
    ).all()
    return render_template(
        "directory/user_detail.html", user=user, today=local_today(), confirm=forms.ConfirmForm(),
        memberships=[(m, policy.can_manage_membership(current_user, m)) for m in memberships],
        is_self=user.id == current_user.id,
        can_add_membership=user.role == Role.MEDIATOR and user.is_active_account,
        loans=active_loans(db.session, mediator_id=user.id),  # current loans to other places
    )


@bp.route("/comptes/<int:user_id>/modifier", methods=["GET", "POST"])
@access(*ADMINS)
def user_edit(user_id: int):
    status = 200
    user = found_or_404(policy.get_user(db.session, current_user, user_id))
    form = forms.UserEditForm(obj=user if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            changed = staff.update_user(
                db.session, current_user, user, email=form.email.data, first_name=form.first_name.data,
                last_name=form.last_name.data, organisation=form.organisation.data,
                is_conseiller_numerique=form.is_conseiller_numerique.data, is_aidant=form.is_aidant.data,
            )
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash("Modifications enregistrées." if changed else "Aucune modification.", "success")
            return redirect(url_for("directory.user_detail", user_id=user.id))
    return render_template("directory/user_form.html", form=form, user=user), status


@bp.route("/comptes/<int:user_id>/role", methods=["GET", "POST"])
@access(*ADMINS)
def user_role(user_id: int):
    status = 200
    user = found_or_404(policy.get_user(db.session, current_user, user_id))
    _allow(user.id != current_user.id)
    form = forms.RoleForm()
    form.role.choices = forms.options(_role_choices())
    if current_user.role == Role.ADMIN:
        form.territory.choices = forms.options(_territory_choices())
    else:
        del form.territory
    if request.method == "GET":
        form.role.data = user.role.value
        if "territory" in form:
            form.territory.data = str(user.territory_id or "")
    if form.validate_on_submit():
        try:
            territory = _pick(form.territory, _territory) if "territory" in form else None
            staff.change_role(db.session, current_user, user, form.role.data, territory=territory)
        except _UnknownChoice:
            pass
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"{user.full_name} est désormais « {user.role_label} ».", "success")
            return redirect(url_for("directory.user_detail", user_id=user.id))
    return render_template("directory/user_role.html", form=form, user=user), status


def _account_action(user_id: int, action, message: str):
    user = found_or_404(policy.get_user(db.session, current_user, user_id))
    if forms.ConfirmForm().validate_on_submit():
        try:
            action(db.session, current_user, user)
        except DomainError as error:
            flash(error.message, "error")
        else:
            flash(message.format(name=user.full_name), "success")
    return redirect(url_for("directory.user_detail", user_id=user_id))


@bp.route("/comptes/<int:user_id>/desactiver", methods=["POST"])
@access(*ADMINS)
def user_deactivate(user_id: int):
    return _account_action(user_id, staff.deactivate_user,
                           "Le compte de {name} est désactivé : la personne ne peut plus se connecter.")


@bp.route("/comptes/<int:user_id>/reactiver", methods=["POST"])
@access(*ADMINS)
def user_reactivate(user_id: int):
    return _account_action(user_id, staff.reactivate_user, "Le compte de {name} est de nouveau actif.")


@bp.route("/comptes/<int:user_id>/rattachements/nouveau", methods=["GET", "POST"])
@access(*ADMINS)
def membership_add(user_id: int):
    status = 200
    user = found_or_404(policy.get_user(db.session, current_user, user_id))
    form = forms.MembershipForm()
    _structure_choices(form.structure, blank="— Choisir —")
    if request.method == "GET":
        form.started_on.data = local_today()
    if form.validate_on_submit():
        try:
            structure = _pick(form.structure, _editable_structure, required="Choisissez la structure.")
            staff.add_membership(db.session, current_user, user, structure, form.started_on.data,
                                 form.job_title.data)
        except _UnknownChoice:
            pass
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"{user.full_name} est rattaché·e à « {structure.name} ».", "success")
            return redirect(url_for("directory.user_detail", user_id=user.id))
    return render_template("directory/membership_form.html", form=form, user=user), status


@bp.route("/rattachements/<int:membership_id>/fin", methods=["GET", "POST"])
@access(*ADMINS)
def membership_end(membership_id: int):
    status = 200
    membership = found_or_404(policy.get_membership_for_edit(db.session, current_user, membership_id))
    form = forms.MembershipEndForm()
    if request.method == "GET":
        form.ended_on.data = local_today()
    if form.validate_on_submit():
        try:
            staff.end_membership(db.session, current_user, membership, form.ended_on.data)
        except DomainError as error:
            status = show_domain_error(form, error)
        else:
            flash(f"Fin du rattachement {de(membership.user.full_name)} à « {membership.structure.name} » "
                  "enregistrée.", "success")
            return redirect(url_for("directory.user_detail", user_id=membership.user_id))
    return render_template("directory/membership_end.html", form=form, membership=membership), status
