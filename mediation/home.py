"""Landing page per role and the main navigation."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from mediation import week
from mediation.auth.models import Role
from mediation.extensions import db
from mediation.policy import PUBLIC, access

bp = Blueprint("home", __name__)

# (endpoint, label, roles allowed or a predicate on the user). Endpoints that do not exist yet are skipped.
NAVIGATION = [
    ("home.index", "Accueil", None),
    ("cases.activity_new", "Enregistrer une activité", {Role.MEDIATOR}),
    ("cases.case_list", "Dossiers", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("cases.activity_list", "Activités", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("coordination.activity_list", "Activités de coordination", {Role.COORDINATOR, Role.ADMIN}),
    ("pathways.index", "Parcours et orientations", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("appointments.agenda", "Rendez-vous", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("cases_exchange.index", "Import, export et doublons", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("equipment.index", "Matériel", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("badges.index", "Badges", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("statistiques.index", "Statistiques", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("evaluation.dashboard", "Tableau de bord", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN, Role.FUNDER}),
    ("evaluation.reports", "Rapports d'impact", {Role.COORDINATOR, Role.ADMIN, Role.FUNDER}),
    ("directory.structure_list", "Structures", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("directory.territory_list", "Territoires", {Role.COORDINATOR, Role.ADMIN}),
    ("directory.user_list", "Équipe et comptes", {Role.COORDINATOR, Role.ADMIN}),
    ("training.index", "Formations", {Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN}),
    ("audit.event_list", "Journal d'audit", {Role.ADMIN}),
    ("mandates.index", "Mandats", lambda user: user.role in {Role.ADMIN, Role.COORDINATOR} or (
        user.role == Role.MEDIATOR and user.is_aidant)),
]


def main_navigation():
    items = []
    for endpoint, label, roles in NAVIGATION:
        if endpoint not in current_app.view_functions:
            continue
        if callable(roles) and not roles(current_user):
            continue
        if roles is not None and not callable(roles) and current_user.role not in roles:
            continue
        url = url_for(endpoint)
        items.append({"url": url, "label": label, "current": request.path == url})
    return items


@bp.app_context_processor
def inject_navigation():
    return {"main_navigation": main_navigation}


@bp.route("/")
@access(PUBLIC)
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return render_template("home.html", week=week.for_user(db.session, current_user))


@bp.route("/favicon.ico")
@access(PUBLIC)
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the icon, cached a day."""
    from pathlib import Path

    icon = (Path(current_app.static_folder) / "img" / "favicon.ico").read_bytes()
    return current_app.response_class(icon, mimetype="image/vnd.microsoft.icon",
                                      headers={"Cache-Control": "public, max-age=86400"})


@bp.route("/sante")
@access(PUBLIC)
def health():
    from sqlalchemy import text

    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
