"""API of appointments and of the public guide.

- ``GET /lieux`` and ``GET /lieux/{id}`` (public, no token): the guide's places, read-only and
  cacheable (``Cache-Control: public``, ``ETag``; ``If-None-Match`` answers 304).
- ``GET /lieux/{id}/creneaux`` (appointments:read, staff): the next slots of the place per
  service, with the free seats.
- ``GET /rendez-vous`` (appointments:read): the appointments of the token owner's scope (ids,
  dates, states; no names). ``POST /rendez-vous`` (appointments:write, mediators) books a slot;
  ``POST /rendez-vous/{id}/annulation`` cancels one.
"""

from __future__ import annotations

import hashlib
import json

from flask import g, jsonify, make_response, request

from mediation.api import (
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    PAGE_PARAMETERS,
    api_access,
    api_error,
    bp,
    error_response,
    openapi_path,
    page_body,
    page_params,
    paged_schema,
)
from mediation.appointments import guide, policy, services
from mediation.appointments.models import Appointment, AppointmentOffer
from mediation.appointments.slots import parse_key
from mediation.auth.models import Role
from mediation.directory.national_schema import SERVICES
from mediation.errors import ValidationFailed
from mediation.extensions import db
from mediation.pagination import paginate
from mediation.pathways import policy as pathways_policy
from mediation.pathways.api import Body
from mediation.types import to_paris

CACHE_SECONDS = 300


def _cached(body: dict):
    """A public JSON answer with a strong ETag; 304 when the client already has it."""
    payload = json.dumps(body, ensure_ascii=False, sort_keys=True, default=str)
    etag = '"' + hashlib.sha256(payload.encode()).hexdigest()[:32] + '"'
    if etag in [t.strip() for t in request.headers.get("If-None-Match", "").split(",")]:
        response = make_response("", 304)
    else:
        response = make_response(payload)
        response.mimetype = "application/json"
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


def place_json(structure, *, distance_km=None, open_now=None, levels=None) -> dict:
    return {
        "id": structure.id, "nom": structure.name, "adresse": structure.address,
        "commune": structure.commune.name, "code_insee": structure.commune.insee_code,
        "latitude": structure.latitude, "longitude": structure.longitude, "horaires": structure.horaires,
        "telephone": structure.telephone, "services": list(structure.services or []),
        "publics": list(structure.publics or []), "prise_en_charge": list(structure.prise_en_charge or []),
        "frais": list(structure.frais or []),
        "distance_km": round(distance_km, 2) if distance_km is not None else None,
        "ouvert_maintenant": open_now,
        "niveaux": [{"service": a.service, "niveau": a.level.value, "publics": a.publics,
                     "accessibilite": a.accessibility, "relu_le": to_paris(a.reviewed_at).date().isoformat()}
                    for a in (levels or [])],
    }


@bp.route("/lieux")
@api_access(None)
def places():
    where = (request.args.get("commune") or "").strip()
    if not where:
        return api_error(400, "Indiquez une commune ou un code postal (paramètre commune).", errors={"commune": "Obligatoire"})
    communes = guide.find_communes(db.session, where[:100])
    if not communes:
        return api_error(404, "Commune inconnue.")
    try:
        radius = int(request.args.get("rayon", guide.DEFAULT_RADIUS_KM))
    except ValueError:
        radius = -1
    if radius not in guide.RADII_KM:
        return api_error(400, "Rayon attendu : " + ", ".join(map(str, guide.RADII_KM)) + " (km).", errors={"rayon": "Invalide"})
    service = request.args.get("service") or None
    if service and service not in SERVICES:
        return api_error(400, "Service inconnu du schéma national.", errors={"service": "Invalide"})
    found = guide.search(db.session, communes[0], guide.GuideQuery(radius_km=radius, service=service,
                                                                   open_now=request.args.get("ouvert") == "1"))
    return _cached({"commune": communes[0].name, "rayon_km": radius, "items": [
        place_json(p.structure, distance_km=p.distance_km, open_now=p.open_now, levels=p.levels.values())
        for p in found]})


@bp.route("/lieux/<int:structure_id>")
@api_access(None)
def place(structure_id: int):
    structure = guide.public_place(db.session, structure_id)
    if structure is None:
        return api_error(404, "Aucun lieu ne porte ce numéro.")
    return _cached(place_json(structure, levels=guide.published_levels_of(db.session, structure.id)))


@bp.route("/lieux/<int:structure_id>/creneaux")
@api_access("appointments:read", *policy.STAFF)
def slots(structure_id: int):
    structure = guide.public_place(db.session, structure_id)
    if structure is None:
        return api_error(404, "Aucun lieu ne porte ce numéro.")
    return jsonify({"items": [
        {"offre_id": offer.id, "service": offer.service, "duree_min": offer.duration_min, "creneaux": [
            {"debut": s.key, "places_libres": s.free} for s in services.next_free_slots(db.session, offer, limit=50)]}
        for offer in services.offers_of(db.session, structure.id, active_only=True)]})


def appointment_json(a: Appointment) -> dict:
    return {"id": a.id, "lieu_id": a.structure_id, "offre_id": a.offer_id, "service": a.service,
            "debut": a.starts_at.isoformat(), "fin": a.ends_at.isoformat(), "etat": a.state.value,
            "dossier_id": a.case_id, "orientation_id": a.referral_id, "activite_id": a.activity_id}


@bp.route("/rendez-vous")
@api_access("appointments:read", *policy.STAFF)
def appointment_list():
    page, per_page = page_params()
    query = policy.visible_appointments(g.api_user).order_by(Appointment.starts_at.desc(), Appointment.id.desc())
    result = paginate(db.session, query, page, per_page, exact=True)
    return jsonify(page_body(result, [appointment_json(a) for a in result.items]))


@bp.route("/rendez-vous", methods=["POST"])
@api_access("appointments:write", Role.MEDIATOR)
def appointment_create():
    body = Body({"offre_id", "debut", "dossier_id"})
    offer_id, case_id, start = body.integer("offre_id", required=True), body.integer("dossier_id", required=True), \
        body.text("debut")
    starts_at = parse_key(start)
    if starts_at is None:
        body.errors.setdefault("debut", "Début attendu au format AAAA-MM-JJTHH:MMZ (UTC)")
    body.raise_if_any()
    offer = db.session.get(AppointmentOffer, offer_id)
    if offer is None:
        return api_error(404, "Aucune offre de rendez-vous ne porte ce numéro.")
    case = pathways_policy.get_case(db.session, g.api_user, case_id)
    if case is None:
        return api_error(404, "Aucun dossier accessible ne porte ce numéro.")
    try:
        appointment = services.book(db.session, g.api_user, offer=offer, starts_at=starts_at, case=case)
    except ValidationFailed as error:
        error.field = "debut" if error.field == "slot" else error.field
        raise
    return appointment_json(appointment), 201


@bp.route("/rendez-vous/<int:appointment_id>/annulation", methods=["POST"])
@api_access("appointments:write", Role.MEDIATOR)
def appointment_cancel(appointment_id: int):
    appointment = policy.get_appointment(db.session, g.api_user, appointment_id)
    if appointment is None:
        return api_error(404, "Aucun rendez-vous accessible ne porte ce numéro.")
    services.cancel(db.session, g.api_user, appointment)
    return appointment_json(appointment)


# --- OpenAPI ----------------------------------------------------------------------------------

ID = {"in": "path", "required": True, "schema": {"type": "integer"}}
NOT_FOUND = error_response("Introuvable (ou hors de votre périmètre)")
PUBLIC_ERRORS = {"400": error_response("Paramètre invalide"), "404": NOT_FOUND}


def _json(description: str, ref: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


OPENAPI_SCHEMAS["Place"] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "nom": {"type": "string"}, "commune": {"type": "string"},
    "distance_km": {"type": "number", "nullable": True}, "ouvert_maintenant": {"type": "boolean", "nullable": True},
    "services": {"type": "array", "items": {"type": "string"}},
    "niveaux": {"type": "array", "items": {"type": "object"}}}}
OPENAPI_SCHEMAS["PlaceList"] = {"type": "object", "properties": {
    "commune": {"type": "string"}, "rayon_km": {"type": "integer"},
    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Place"}}}}
OPENAPI_SCHEMAS["SlotList"] = {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}}
OPENAPI_SCHEMAS["Appointment"] = {"type": "object", "properties": {
    "id": {"type": "integer"}, "lieu_id": {"type": "integer"}, "service": {"type": "string"},
    "debut": {"type": "string", "format": "date-time"}, "fin": {"type": "string", "format": "date-time"},
    "etat": {"type": "string", "enum": ["reserve", "annule", "deplace", "honore", "manque"]}}}
OPENAPI_SCHEMAS["AppointmentPage"] = paged_schema("#/components/schemas/Appointment")
OPENAPI_SCHEMAS["AppointmentInput"] = {"type": "object", "required": ["offre_id", "debut", "dossier_id"], "properties": {
    "offre_id": {"type": "integer"}, "dossier_id": {"type": "integer"},
    "debut": {"type": "string", "example": "2026-12-04T08:00Z"}}}

openapi_path("/lieux", "get", {
    "summary": "Lieux du guide autour d'une commune (public, mis en cache)", "security": [],
    "parameters": [{"name": "commune", "in": "query", "required": True, "schema": {"type": "string"}},
                   {"name": "rayon", "in": "query", "schema": {"type": "integer", "enum": list(guide.RADII_KM)}},
                   {"name": "service", "in": "query", "schema": {"type": "string", "enum": list(SERVICES)}},
                   {"name": "ouvert", "in": "query", "schema": {"type": "string", "enum": ["1"]}}],
    "responses": {"200": _json("Les lieux, du plus proche au plus loin", "#/components/schemas/PlaceList"),
                  "304": {"description": "Inchangé (ETag)"}, **PUBLIC_ERRORS},
})
openapi_path("/lieux/{structure_id}", "get", {
    "summary": "Un lieu du guide (public, mis en cache)", "security": [],
    "parameters": [{"name": "structure_id", **ID}],
    "responses": {"200": _json("Le lieu", "#/components/schemas/Place"), "304": {"description": "Inchangé (ETag)"},
                  "404": NOT_FOUND},
})
openapi_path("/lieux/{structure_id}/creneaux", "get", {
    "summary": "Prochains créneaux d'un lieu, par service", "description": "Permission appointments:read.",
    "parameters": [{"name": "structure_id", **ID}],
    "responses": {"200": _json("Les créneaux", "#/components/schemas/SlotList"), "404": NOT_FOUND, **ERROR_RESPONSES},
})
openapi_path("/rendez-vous", "get", {
    "summary": "Rendez-vous de votre périmètre", "description": "Permission appointments:read.",
    "parameters": PAGE_PARAMETERS,
    "responses": {"200": _json("Une page de rendez-vous", "#/components/schemas/AppointmentPage"), **ERROR_RESPONSES},
})
openapi_path("/rendez-vous", "post", {
    "summary": "Prendre un rendez-vous", "description": "Médiateur·rices. Permission appointments:write. 409 quand "
                                                         "le créneau est complet ou que la dernière place vient d'être prise.",
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/AppointmentInput"}}}},
    "responses": {"201": _json("Le rendez-vous", "#/components/schemas/Appointment"), "404": NOT_FOUND,
                  "409": error_response("Créneau complet"), "422": error_response("Données invalides"),
                  **ERROR_RESPONSES},
})
openapi_path("/rendez-vous/{appointment_id}/annulation", "post", {
    "summary": "Annuler un rendez-vous", "description": "Médiateur·rices du lieu ou de la structure qui a orienté. "
                                                        "Permission appointments:write.",
    "parameters": [{"name": "appointment_id", **ID}],
    "responses": {"200": _json("Le rendez-vous annulé", "#/components/schemas/Appointment"), "404": NOT_FOUND,
                  **ERROR_RESPONSES},
})
