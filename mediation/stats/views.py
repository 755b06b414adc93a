"""« Statistiques »: the figures of La Coop de la médiation numérique on the user's own data
(a mediator's activities; a coordinator's territory, optionally one mediator), unsuppressed, with
a data table for every chart and the Coop's statistics workbook (XLSX)."""

from __future__ import annotations

from dataclasses import dataclass, field
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
from mediation.forms import PickSearch, candidates
from mediation.policy import access
from mediation.replica import reads_from_replica
from mediation.stats import coop_workbook, snapshots
from mediation.stats.coop import DIFFERENCES, CoopFilters, mediator_allowed, mediator_source, shortened
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


@dataclass
class MediatorPick:
    """The mediator filter of the form: a list of every mediator the person may choose, or, above
    the pick-list limit (a network's thousands), a search box (``search``, the pick-lists' own
    :class:`~mediation.forms.PickSearch`: ``mediateur_nom``) and the list of the mediators matching
    what was typed and the one chosen."""

    choices: list[tuple[int, str]] = field(default_factory=list)
    search: PickSearch | None = None

    def name(self, mediator_id: int | None) -> str | None:
        return dict(self.choices).get(mediator_id)


def _mediator_pick(errors: dict[str, str]) -> tuple[int | None, MediatorPick]:
    """The mediator chosen (an id of the query string, or the single match of the words typed) and
    what the form shows. A mediator outside the user's scope is « not found » (404)."""
    source = mediator_source(current_user)
    if source is None:
        return None, MediatorPick()
    session = db.session
    raw = (request.args.get("mediateur") or "").strip()
    chosen = None
    if raw:
        if not raw.isdigit() or len(raw) > 18:
            abort(404)
        name = mediator_allowed(session, current_user, int(raw))
        if name is None:
            abort(404)
        chosen = (int(raw), name)
    words = (request.args.get("mediateur_nom") or "").strip()[:100]
    offered = candidates(session, [source], words)
    if offered.listed is not None:
        return (chosen[0] if chosen else None), MediatorPick(choices=[(int(c.value), c.label) for c in offered.listed])
    found = [(int(c.value), c.label) for c in offered.found]
    pick = MediatorPick(search=PickSearch(name="mediateur_nom", words=words, total=offered.total,
                                          found=len(found) if words else None, more=offered.more))
    if chosen is None and len(found) == 1:
        chosen = found[0]  # the one match, chosen
    elif chosen is None and words and not found:
        errors["mediateur_nom"] = f"Aucun médiateur de votre périmètre ne correspond à « {words} »."
    pick.choices = ([chosen] if chosen else []) + [c for c in found if not chosen or c[0] != chosen[0]]
    return (chosen[0] if chosen else None), pick


def filters_from_request() -> tuple[CoopFilters | None, dict[str, str], MediatorPick]:
    """The filters asked (the last 12 months by default), the French errors, the mediator filter
    (:class:`MediatorPick`). A mediator outside the user's scope is « not found » (404)."""
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
    mediator_id, pick = _mediator_pick(errors)
    if errors:
        return None, errors, pick
    return CoopFilters(start=start, end=end, types=types, mediator_id=mediator_id), errors, pick


def filter_labels(filters: CoopFilters, pick: MediatorPick) -> list[tuple[str, str]]:
    labels = [("Période", f"du {filters.start:%d/%m/%Y} au {filters.end:%d/%m/%Y}"),
              ("Type d’accompagnement", ", ".join(t.label for t in filters.types) or "Tous")]
    if current_user.role == Role.MEDIATOR:
        labels.append(("Médiateur", f"{current_user.first_name} {current_user.last_name}"))
    else:
        labels.append(("Médiateur", pick.name(filters.mediator_id) or "Tous les médiateurs"))
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
    filters, errors, pick = filters_from_request()
    served = _statistics(filters) if filters else None
    stats = served.value if served else None
    # A coordinator's own animations, évènements and partenariats: a block apart, never accompaniments.
    coordination = (coordination_services.summary(db.session, current_user, filters.start, filters.end)
                    if filters and current_user.role == Role.COORDINATOR else None)
    return render_template(
        "stats/coop.html", stats=stats, filters=filters, errors=errors, values=request.args, shortened=shortened,
        coordination=coordination,
        pick=pick, types=ActivityType.choices(), differences=DIFFERENCES,
        filter_labels=filter_labels(filters, pick) if filters else [],
        query=_query(filters) if filters else "", served=served, snapshot_minutes=kept.max_age().seconds // 60,
    ), (200 if filters else 400)


def _statistics(filters: CoopFilters):
    """A recent copy when one is kept for the same figures and was computed after this browser's
    last write (mediation.stats.snapshots), else computed now; « Recalculer maintenant » is
    :func:`recompute`."""
    return snapshots.statistics(db.session, current_user, filters, wrote_at=replica.last_write())


@bp.route("/recalculer", methods=["POST"])
@access(*READERS)
def recompute():
    """« Recalculer maintenant »: the statistics of the query string's filters computed now and kept
    in place of the copy, then the page. A form, not a link (see mediation.evaluation.views.recompute)."""
    filters, _errors, _pick = filters_from_request()
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
    filters, errors, pick = filters_from_request()
    if filters is None:
        abort(400, "Filtres invalides : " + " ".join(errors.values()))
    served = _statistics(filters)
    content = coop_workbook.workbook_bytes(served.value, current_user, filter_labels(filters, pick),
                                           generated_at=served.computed_at)
    return file_response(content, f"statistiques_{filters.start.isoformat()}_{filters.end.isoformat()}.xlsx", XLSX)
