"""Admin page to read the audit log with filters."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for
from sqlalchemy.orm import selectinload

from mediation.audit import labels as audit_labels
from mediation.audit import services
from mediation.audit.models import AuditEvent
from mediation.auth.models import Role
from mediation.extensions import db
from mediation.pagination import page_arg, paginate
from mediation.policy import access

bp = Blueprint("audit", __name__, url_prefix="/admin/journal")


@bp.route("/")
@access(Role.ADMIN)
def event_list():
    filters = {
        "action": request.args.get("action") or None,
        "object_type": request.args.get("object_type") or None,
        "object_id": request.args.get("object_id") or None,
    }
    actor = request.args.get("actor_id", "")
    filters["actor_id"] = int(actor) if actor.isdigit() else None
    query = services.search(db.session, **filters).options(selectinload(AuditEvent.actor))
    page = paginate(db.session, query, page_arg(request.args), per_page=50)
    args = {k: v for k, v in filters.items() if v}
    formats = current_app.jinja_env.filters
    return render_template(
        "audit/event_list.html", page=page, filters=filters, labels=services.ACTION_LABELS,
        page_url=lambda n: url_for("audit.event_list", page=n, **args),
        object_labels=audit_labels.OBJECT_LABELS, object_label=audit_labels.object_label, detail_label=audit_labels.detail_label,
        detail_value=lambda v: audit_labels.detail_value(v, formats["datetime_fr"], formats["date_fr"]),
    )
