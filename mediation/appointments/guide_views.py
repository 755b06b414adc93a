"""The public guide of places (no sign-in): search, a place's page, the printable list of a commune
and the open data file of places (schema v1.0.2 with the published self-assessment)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from mediation.appointments import assessments, guide, services
from mediation.directory.models import Commune
from mediation.directory.national_schema import PRISE_EN_CHARGE, PUBLICS, SERVICES
from mediation.downloads import file_response
from mediation.extensions import db
from mediation.policy import PUBLIC, access, found_or_404
from mediation.tabular import csv_text

bp = Blueprint("guide", __name__, url_prefix="/guide")


def _query() -> guide.GuideQuery:
    args = request.args
    try:
        radius = int(args.get("rayon", guide.DEFAULT_RADIUS_KM))
    except ValueError:
        radius = guide.DEFAULT_RADIUS_KM
    return guide.GuideQuery(
        where=(args.get("ou") or "").strip()[:100], radius_km=radius if radius in guide.RADII_KM else guide.DEFAULT_RADIUS_KM,
        service=args.get("service") if args.get("service") in SERVICES else None,
        public=args.get("public") if args.get("public") in PUBLICS else None,
        accessibility=args.get("accessibilite") if args.get("accessibilite") in PRISE_EN_CHARGE else None,
        open_now=args.get("ouvert") == "1", free_only=args.get("gratuit") == "1")


@bp.route("/")
@access(PUBLIC)
def search():
    query = _query()
    communes = guide.find_communes(db.session, query.where) if query.where else []
    commune_id = request.args.get("commune", type=int)
    origin = next((c for c in communes if c.id == commune_id), None) or (communes[0] if len(communes) == 1 else None)
    if origin is None and communes and not commune_id:
        origin = communes[0] if communes[0].name.lower() == query.where.lower() else None
    results = guide.search(db.session, origin, query) if origin else []
    return render_template("guide/search.html", query=query, communes=communes, origin=origin, results=results,
                           services=SERVICES, publics=PUBLICS, accessibility=PRISE_EN_CHARGE, radii=guide.RADII_KM)


@bp.route("/lieux/<int:structure_id>")
@access(PUBLIC)
def place(structure_id: int):
    structure = found_or_404(guide.public_place(db.session, structure_id))
    offers = services.offers_of(db.session, structure.id, active_only=True)
    slots = {offer.service: services.next_free_slots(db.session, offer, limit=5) for offer in offers}
    return render_template("guide/place.html", place=structure, levels=guide.published_levels_of(db.session, structure.id),
                           slots=slots, horaires=guide.horaires_fr(structure.horaires))


@bp.route("/communes/<int:commune_id>/liste")
@access(PUBLIC)
def printable(commune_id: int):
    commune = found_or_404(db.session.get(Commune, commune_id))
    places = guide.places_of_commune(db.session, commune)
    return render_template("guide/printable.html", commune=commune, places=places, horaires_fr=guide.horaires_fr)


@bp.route("/lieux.csv")
@access(PUBLIC)
def open_data():
    """Every place, national schema v1.0.2, with the published self-assessed services."""
    import sqlalchemy as sa
    from sqlalchemy.orm import joinedload

    from mediation.directory.models import Structure

    structures = list(db.session.scalars(sa.select(Structure).where(Structure.archived_at.is_(None))
                                         .options(joinedload(Structure.commune)).order_by(Structure.id)))
    response = file_response(csv_text(assessments.open_data_rows(db.session, structures)).encode("utf-8"),
                             "lieux-mediation-numerique.csv", "text/csv")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
