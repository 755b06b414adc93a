"""Directory pages: structures, territories, communes, staff."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user

from mediation.auth.models import Role
from mediation.directory import policy
from mediation.directory.models import Structure
from mediation.extensions import db
from mediation.pagination import page_arg, paginate
from mediation.policy import access

bp = Blueprint("directory", __name__, url_prefix="/annuaire")

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)


@bp.route("/structures")
@access(*STAFF)
def structure_list():
    query = policy.visible_structures(current_user).order_by(Structure.name)
    q = (request.args.get("q") or "").strip()
    if q:
        query = query.where(Structure.name.ilike(f"%{q}%"))
    page = paginate(db.session, query, page_arg(request.args))
    return render_template(
        "directory/structure_list.html", page=page, q=q,
        page_url=lambda n: url_for("directory.structure_list", q=q or None, page=n),
    )
