"""Equipment endpoints, in the user's scope: the inventory and the handovers (``equipment:read``;
staff), lending/giving a device and recording its return (``equipment:write``; mediators of the
structure). Names never appear: a person is their ``beneficiaire_id``. Out of scope: 404."""

from __future__ import annotations

from datetime import date

from flask import g, request
from sqlalchemy.orm import joinedload

from mediation.api import (
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    PAGE_PARAMETERS,
    InvalidParameter,
    api_access,
    api_error,
    bp,
    error_response,
    openapi_path,
    page_body,
    page_params,
)
from mediation.auth.models import Role
from mediation.cases import policy as cases_policy
from mediation.cases.enums import EquipmentKind
from mediation.equipment import policy, services
from mediation.equipment.enums import DeviceCondition, DeviceKind, DeviceOrigin, DeviceStatus
from mediation.equipment.models import Device, Handover
from mediation.extensions import db
from mediation.pagination import paginate
from mediation.types import local_today

STAFF = policy.STAFF


def _iso(value):
    return value.isoformat() if value is not None else None


def device_json(device: Device) -> dict:
    return {
        "id": device.id, "structure_id": device.structure_id, "type": device.kind.value,
        "type_libelle": device.kind.label, "modele": device.model, "numero": device.asset_number,
        "etat": device.condition.value, "situation": device.status.value, "provenance": device.origin.value,
        "provenance_nom": device.origin_name, "entre_le": _iso(device.acquired_on),
        "reforme_le": _iso(device.written_off_at),
    }


def handover_json(handover: Handover, today: date) -> dict:
    return {
        "id": handover.id, "reference": handover.reference, "appareil_id": handover.device_id,
        "structure_id": handover.structure_id, "beneficiaire_id": handover.beneficiary_id,
        "activite_id": handover.activity_id, "type": handover.kind.value, "remis_le": _iso(handover.started_on),
        "retour_prevu_le": _iso(handover.due_on), "en_retard": handover.is_overdue(today),
        "rendu_le": _iso(handover.returned_on),
        "etat_au_retour": handover.return_condition.value if handover.return_condition else None,
        "prix_centimes": handover.price_cents, "convention_signee": handover.signed_scan_at is not None,
    }


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidParameter("Le corps de la requête doit être un objet JSON.")
    return body


def _date(body: dict, key: str) -> date | None:
    value = body.get(key)
    if value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidParameter(f"« {key} » est une date AAAA-MM-JJ.", field=key) from None


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@bp.route("/materiel")
@api_access("equipment:read", *STAFF)
def equipment_devices():
    page_number, per_page = page_params()
    query = policy.visible_devices(g.api_user).order_by(Device.id)
    situation = request.args.get("situation")
    if situation:
        if situation not in {s.value for s in DeviceStatus}:
            raise InvalidParameter("Situation inconnue.", field="situation")
        query = query.where(Device.status == situation)
    page = paginate(db.session, query, page_number, per_page, exact=True)
    return page_body(page, [device_json(d) for d in page.items])


@bp.route("/materiel/<int:device_id>")
@api_access("equipment:read", *STAFF)
def equipment_device(device_id: int):
    found = policy.get_device(db.session, g.api_user, device_id)
    if found is None:
        return api_error(404, "Appareil introuvable dans vos structures.")
    return device_json(found)


@bp.route("/materiel/remises")
@api_access("equipment:read", *STAFF)
def equipment_handovers():
    page_number, per_page = page_params()
    today = local_today()
    query = policy.visible_handovers(g.api_user).order_by(Handover.id)
    if request.args.get("en_retard") == "1":
        query = services.overdue_loans(query, today)
    page = paginate(db.session, query, page_number, per_page, exact=True)
    return page_body(page, [handover_json(h, today) for h in page.items])


@bp.route("/materiel/remises", methods=["POST"])
@api_access("equipment:write", Role.MEDIATOR)
def equipment_handover_create():
    body = _body()
    data = services.HandoverInput(
        device_id=_int(body.get("appareil_id")), beneficiary_id=_int(body.get("beneficiaire_id")),
        activity_id=_int(body.get("activite_id")), kind=body.get("type"), started_on=_date(body, "remis_le"),
        due_on=_date(body, "retour_prevu_le"), conditions_accepted=body.get("conditions_acceptees") is True,
        price=str(body["prix"]) if body.get("prix") is not None else None)
    created = services.hand_over(
        db.session, g.api_user, data, visible_beneficiary=cases_policy.beneficiary_loader(db.session, g.api_user),
        visible_activity=lambda i: cases_policy.get_activity(db.session, g.api_user, int(i)))
    return handover_json(created, local_today()), 201


@bp.route("/materiel/remises/<int:handover_id>/retour", methods=["POST"])
@api_access("equipment:write", Role.MEDIATOR)
def equipment_handover_return(handover_id: int):
    found = policy.get_handover(db.session, g.api_user, handover_id, joinedload(Handover.device))
    if found is None:
        return api_error(404, "Remise introuvable dans vos structures.")
    body = _body()
    services.return_device(db.session, g.api_user, found, condition=body.get("etat"),
                           returned_on=_date(body, "rendu_le"), note=body.get("remarque"))
    return handover_json(found, local_today())


# --- OpenAPI --------------------------------------------------------------------------------

OPENAPI_SCHEMAS["Appareil"] = {
    "type": "object",
    "required": ["id", "structure_id", "type", "modele", "numero", "etat", "situation", "provenance"],
    "properties": {
        "id": {"type": "integer"}, "structure_id": {"type": "integer"},
        "type": {"type": "string", "enum": [k.value for k in DeviceKind]}, "type_libelle": {"type": "string"},
        "modele": {"type": "string"}, "numero": {"type": "string", "description": "Numéro de série ou d'inventaire"},
        "etat": {"type": "string", "enum": [c.value for c in DeviceCondition]},
        "situation": {"type": "string", "enum": [s.value for s in DeviceStatus]},
        "provenance": {"type": "string", "enum": [o.value for o in DeviceOrigin]},
        "provenance_nom": {"type": "string", "nullable": True},
        "entre_le": {"type": "string", "format": "date", "nullable": True},
        "reforme_le": {"type": "string", "format": "date-time", "nullable": True},
    },
}
OPENAPI_SCHEMAS["Remise"] = {
    "type": "object",
    "required": ["id", "reference", "appareil_id", "beneficiaire_id", "type", "remis_le"],
    "properties": {
        "id": {"type": "integer"}, "reference": {"type": "string"}, "appareil_id": {"type": "integer"},
        "structure_id": {"type": "integer"}, "beneficiaire_id": {"type": "integer"},
        "activite_id": {"type": "integer", "nullable": True},
        "type": {"type": "string", "enum": [k.value for k in EquipmentKind]},
        "remis_le": {"type": "string", "format": "date"},
        "retour_prevu_le": {"type": "string", "format": "date", "nullable": True},
        "en_retard": {"type": "boolean"}, "rendu_le": {"type": "string", "format": "date", "nullable": True},
        "etat_au_retour": {"type": "string", "nullable": True, "enum": [c.value for c in DeviceCondition] + [None]},
        "prix_centimes": {"type": "integer", "nullable": True}, "convention_signee": {"type": "boolean"},
    },
}
OPENAPI_SCHEMAS["RemiseCreation"] = {
    "type": "object",
    "required": ["appareil_id", "beneficiaire_id", "type", "conditions_acceptees"],
    "properties": {
        "appareil_id": {"type": "integer"}, "beneficiaire_id": {"type": "integer"},
        "activite_id": {"type": "integer", "description": "La séance pendant laquelle l'appareil est remis"},
        "type": {"type": "string", "enum": [k.value for k in EquipmentKind]},
        "remis_le": {"type": "string", "format": "date"},
        "retour_prevu_le": {"type": "string", "format": "date", "description": "Obligatoire pour un prêt"},
        "prix": {"type": "string", "description": "Prix payé en euros, pour un achat solidaire (« 25,50 »)"},
        "conditions_acceptees": {"type": "boolean", "description": "Doit valoir true"},
    },
}
OPENAPI_SCHEMAS["RemiseRetour"] = {
    "type": "object",
    "required": ["etat"],
    "properties": {"etat": {"type": "string", "enum": [c.value for c in DeviceCondition]},
                   "rendu_le": {"type": "string", "format": "date"}, "remarque": {"type": "string"}},
}


def _page_of(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {"items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema}"}},
                       "page": {"type": "integer"}, "per_page": {"type": "integer"},
                       "total": {"type": "integer"}, "pages": {"type": "integer"}}}}}}


def _one(schema: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


_REFUSED = error_response("Données invalides ou appareil indisponible")
_CONFLICT = error_response("L'appareil vient d'être remis à une autre personne, ou le prêt est déjà clos")

openapi_path("/materiel", "get", {
    "summary": "L'inventaire des structures de votre périmètre",
    "parameters": [*PAGE_PARAMETERS, {"name": "situation", "in": "query", "schema": {
        "type": "string", "enum": [s.value for s in DeviceStatus]}}],
    "responses": {"200": _page_of("Appareil", "Une page d'appareils"), **ERROR_RESPONSES},
})
openapi_path("/materiel/{device_id}", "get", {
    "summary": "Un appareil",
    "parameters": [{"name": "device_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {"200": _one("Appareil", "L'appareil"), **ERROR_RESPONSES,
                  "404": error_response("Appareil introuvable dans votre périmètre")},
})
openapi_path("/materiel/remises", "get", {
    "summary": "Les prêts, dons et achats solidaires de votre périmètre",
    "parameters": [*PAGE_PARAMETERS, {"name": "en_retard", "in": "query", "schema": {"type": "string", "enum": ["1"]},
                                      "description": "1 : seulement les prêts en retard"}],
    "responses": {"200": _page_of("Remise", "Une page de remises"), **ERROR_RESPONSES},
})
openapi_path("/materiel/remises", "post", {
    "summary": "Prêter, donner ou vendre un appareil à une personne",
    "description": "Médiateurs de la structure (permission equipment:write). La base refuse qu'un appareil soit "
                   "remis deux fois à la fois.",
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/RemiseCreation"}}}},
    "responses": {"201": _one("Remise", "La remise enregistrée"), **ERROR_RESPONSES, "409": _CONFLICT,
                  "422": _REFUSED},
})
openapi_path("/materiel/remises/{handover_id}/retour", "post", {
    "summary": "Enregistrer le retour d'un appareil prêté, avec son état",
    "parameters": [{"name": "handover_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/RemiseRetour"}}}},
    "responses": {"200": _one("Remise", "Le prêt clos"), **ERROR_RESPONSES, "409": _CONFLICT, "422": _REFUSED,
                  "404": error_response("Remise introuvable dans votre périmètre")},
})
