"""« Statistiques »: the figures of La Coop de la médiation numérique on the user's own data
(a mediator's activities; a coordinator's territory, optionally one mediator), unsuppressed, with
a data table for every chart and the Coop's statistics workbook (XLSX)."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from mediation import replica
from mediation import snapshots as kept
from mediation.auth.forms import EmptyForm
from mediation.auth.models import Role
from mediation.cases.enums import ActivityType
from mediation.coordination import services as coordination_services
from mediation.downloads import file_response
from mediation.extensions import db
from mediation.policy import access
from mediation.replica import reads_from_replica
from mediation.stats import coop_workbook, snapshots
from mediation.stats.coop import DIFFERENCES, CoopFilters, mediator_choices, shortened
from mediation.types import local_today

bp = Blueprint("statistiques", __name__, url_prefix="/statistiques")

READERS = (Role.MEDIATOR, Role.COORDINATOR, Role.ADMIN)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _parse_date(name: str, label: str, errors: dict) -> date | None:
    value = (request.args.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = f"{label} : saisissez une date valide (jj/mm/aaaa)."
        return None


def filters_from_request() -> tuple[CoopFilters | None, dict[str, str], list[tuple[int, str]]]:
    """The filters asked (the last 12 months by default), the French errors, the mediators offered.
    A mediator outside the user's scope is « not found » (404)."""
    errors: dict[str, str] = {}
    default = CoopFilters.default()
    start = _parse_date("du", "Date de début", errors) or default.start
    end = _parse_date("au", "Date de fin", errors) or default.end
    if not errors and start > end:
        errors["au"] = "La date de fin doit être postérieure ou égale à la date de début."
    if not errors and end > local_today():
        errors["au"] = "La date de fin ne peut pas être dans le futur."
    kind = (request.args.get("type") or "").strip()
    types: tuple[ActivityType, ...] = ()
    if kind:
        try:
            types = (ActivityType(kind),)
        except ValueError:
            errors["type"] = "Type d’activité : choisissez « Accompagnement individuel » ou « Atelier collectif »."
    choices = mediator_choices(db.session, current_user)
    mediator_id = None
    raw = (request.args.get("mediateur") or "").strip()
    if raw and current_user.role != Role.MEDIATOR:
        if not raw.isdigit() or int(raw) not in {uid for uid, _ in choices}:
            abort(404)
        mediator_id = int(raw)
    if errors:
        return None, errors, choices
    return CoopFilters(start=start, end=end, types=types, mediator_id=mediator_id), errors, choices


def filter_labels(filters: CoopFilters, choices: list[tuple[int, str]]) -> list[tuple[str, str]]:
    labels = [("Période", f"du {filters.start:%d/%m/%Y} au {filters.end:%d/%m/%Y}"),
              ("Type d’accompagnement", ", ".join(t.label for t in filters.types) or "Tous")]
    if current_user.role == Role.MEDIATOR:
        labels.append(("Médiateur", f"{current_user.first_name} {current_user.last_name}"))
    else:
        names = dict(choices)
        labels.append(("Médiateur", names.get(filters.mediator_id, "Tous les médiateurs")))
    return labels


def _query(filters: CoopFilters) -> str:
    args = {"du": filters.start.isoformat(), "au": filters.end.isoformat()}
    if filters.types:
        args["type"] = filters.types[0].value
    if filters.mediator_id is not None:
        args["mediateur"] = str(filters.mediator_id)
    return urlencode(args)


@bp.route("/")
@access(*READERS)
@reads_from_replica
def index():
    filters, errors, choices = filters_from_request()
    served = _statistics(filters) if filters else None
    stats = served.value if served else None
    # A coordinator's own animations, évènements and partenariats: a block apart, never accompaniments.
    coordination = (coordination_services.summary(db.session, current_user, filters.start, filters.end)
                    if filters and current_user.role == Role.COORDINATOR else None)
    return render_template(
        "stats/coop.html", stats=stats, filters=filters, errors=errors, values=request.args, shortened=shortened,
        coordination=coordination,
        choices=choices, types=ActivityType.choices(), differences=DIFFERENCES,
        filter_labels=filter_labels(filters, choices) if filters else [],
        query=_query(filters) if filters else "", served=served, snapshot_minutes=kept.max_age().seconds // 60,
    ), (200 if filters else 400)


def _statistics(filters: CoopFilters):
    """A recent copy when one is kept for the same figures and was computed after this browser's
    last write (mediation.stats.snapshots), else computed now; « Recalculer maintenant » is
    :func:`recompute`."""
    return snapshots.statistics(db.session, current_user, filters, wrote_at=replica.last_write())


@bp.route("/recalculer", methods=["POST"])
@access(*READERS)
@reads_from_replica
def recompute():
    """« Recalculer maintenant »: the statistics of the query string's filters computed now and kept
    in place of the copy, then the page. A form, not a link (see mediation.evaluation.views.recompute)."""
    filters, _errors, _choices = filters_from_request()
    query = urlencode(request.args.to_dict(flat=False), doseq=True)
    if filters is not None and EmptyForm().validate_on_submit():
        snapshots.statistics(db.session, current_user, filters, fresh=True)
        query = _query(filters)
        flash("Chiffres recalculés à l'instant.", "success")
    return redirect(url_for("statistiques.index") + (f"?{query}" if query else ""), 303)


@bp.route("/export.xlsx")
@access(*READERS)
@reads_from_replica
def export_xlsx():
    filters, errors, choices = filters_from_request()
    if filters is None:
        abort(400, "Filtres invalides : " + " ".join(errors.values()))
    served = _statistics(filters)
    content = coop_workbook.workbook_bytes(served.value, current_user, filter_labels(filters, choices),
                                           generated_at=served.computed_at)
    return file_response(content, f"statistiques_{filters.start.isoformat()}_{filters.end.isoformat()}.xlsx", XLSX)
