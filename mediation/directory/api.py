"""Directory endpoints: structures and communes (read-only, scope directory:read), filterable."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, request

from mediation.api import (
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    PAGE_PARAMETERS,
    InvalidParameter,
    api_access,
    api_error,
    bp,
    error_response,
    is_id,
    openapi_path,
    page_body,
    page_params,
    paged_schema,
)
from mediation.directory import policy, services
from mediation.directory.models import Commune, Structure
from mediation.extensions import db
from mediation.pagination import paginate


def structure_json(s: Structure) -> dict:
    return {
        "id": s.id,
        "nom": s.name,
        "siret": s.siret,
        "adresse": s.address,
        "code_postal": s.postal_code,
        "commune": s.commune.name,
        "code_insee": s.commune.insee_code,
        "latitude": s.latitude,
        "longitude": s.longitude,
        "typologie": s.typologies,
        "services": s.services,
        "dispositif_programmes_nationaux": s.dispositifs,
        "horaires": s.horaires,
    }


def commune_json(c: Commune) -> dict:
    return {
        "id": c.id,
        "code_insee": c.insee_code,
        "nom": c.name,
        "code_postal": c.postal_code,
        "codes_postaux": list(c.postal_codes or ([c.postal_code] if c.postal_code else [])),
        "population": c.population,
        "latitude": c.latitude,
        "longitude": c.longitude,
        "territoire_id": c.territory_id,
    }


OPENAPI_SCHEMAS["Structure"] = {
    "type": "object",
    "required": ["id", "nom", "commune", "code_insee"],
    "properties": {
        "id": {"type": "integer"},
        "nom": {"type": "string"},
        "siret": {"type": "string", "nullable": True},
        "adresse": {"type": "string"},
        "code_postal": {"type": "string", "nullable": True},
        "commune": {"type": "string"},
        "code_insee": {"type": "string"},
        "latitude": {"type": "number", "nullable": True},
        "longitude": {"type": "number", "nullable": True},
        "typologie": {"type": "array", "items": {"type": "string"}},
        "services": {"type": "array", "items": {"type": "string"}},
        "dispositif_programmes_nationaux": {"type": "array", "items": {"type": "string"}},
        "horaires": {"type": "string", "nullable": True},
    },
}
OPENAPI_SCHEMAS["Commune"] = {
    "type": "object",
    "required": ["id", "code_insee", "nom"],
    "properties": {
        "id": {"type": "integer"},
        "code_insee": {"type": "string"},
        "nom": {"type": "string"},
        "code_postal": {"type": "string", "nullable": True},
        "codes_postaux": {"type": "array", "items": {"type": "string"},
                          "description": "Tous les codes postaux de la commune (Rouen : 76000 et 76100)"},
        "population": {"type": "integer", "nullable": True},
        "latitude": {"type": "number", "nullable": True},
        "longitude": {"type": "number", "nullable": True},
        "territoire_id": {"type": "integer"},
    },
}
OPENAPI_SCHEMAS["StructurePage"] = paged_schema("#/components/schemas/Structure")
OPENAPI_SCHEMAS["CommunePage"] = paged_schema("#/components/schemas/Commune")


STRUCTURE_FILTERS = [
    {"name": "commune", "in": "query", "description": "Code INSEE de la commune (ex. 76540)",
     "schema": {"type": "string", "pattern": "^([0-9]{5}|2[ABab][0-9]{3})$"}},
    {"name": "q", "in": "query", "description": "Recherche dans le nom (ou SIRET exact)",
     "schema": {"type": "string", "maxLength": 100}},
    {"name": "archivees", "in": "query", "description": "1 pour inclure les structures archivées",
     "schema": {"type": "string", "enum": ["0", "1"], "default": "0"}},
]
COMMUNE_FILTERS = [
    {"name": "q", "in": "query", "description": "Début du nom ou du code INSEE",
     "schema": {"type": "string", "maxLength": 100}},
    {"name": "territoire", "in": "query", "description": "Identifiant du territoire",
     "schema": {"type": "integer", "minimum": 1}},
]


def _text_param(name: str, max_length: int = 100) -> str:
    value = (request.args.get(name) or "").strip()
    if len(value) > max_length:
        raise InvalidParameter(f"Le paramètre « {name} » ne peut dépasser {max_length} caractères.", field=name)
    return value


def _insee_param(name: str) -> str:
    value = _text_param(name).upper()
    if value:
        try:
            services.clean_insee_code(value)
        except services.FieldError as error:
            raise InvalidParameter(f"Le paramètre « {name} » : {error}", field=name) from None
    return value


@bp.route("/structures")
@api_access("directory:read")
def structures():
    page, per_page = page_params()
    archived = request.args.get("archivees", "0")
    if archived not in ("0", "1"):
        raise InvalidParameter("Le paramètre « archivees » vaut 0 ou 1.", field="archivees")
    query = policy.visible_structures(g.api_user, include_archived=archived == "1")
    commune, q = _insee_param("commune"), _text_param("q")
    if commune:
        query = query.where(Commune.insee_code == commune)
    if q:
        query = query.where(sa.or_(Structure.name.ilike(f"%{q}%"), Structure.siret == q))
    result = paginate(db.session, query.order_by(Structure.id), page, per_page, exact=True)
    return page_body(result, [structure_json(s) for s in result.items])


openapi_path("/structures", "get", {
    "summary": "Lieux de médiation numérique du réseau",
    "description": "Structures actives (sauf archivees=1), filtrables par commune et par nom, au format "
                   "des champs du schéma national des lieux de médiation numérique.",
    "parameters": PAGE_PARAMETERS + STRUCTURE_FILTERS,
    "responses": {"200": {"description": "Une page de structures", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/StructurePage"}}}}, **ERROR_RESPONSES},
})


@bp.route("/structures/<int:structure_id>")
@api_access("directory:read")
def structure_detail(structure_id: int):
    structure = policy.get_visible_structure(db.session, g.api_user, structure_id)
    if structure is None:
        return api_error(404, "Aucune structure ne porte ce numéro.")
    return structure_json(structure)


openapi_path("/structures/{structure_id}", "get", {
    "summary": "Un lieu de médiation numérique",
    "parameters": [{"name": "structure_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "responses": {
        "200": {"description": "La structure", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Structure"}}}},
        "404": error_response("Structure inconnue"),
        **ERROR_RESPONSES,
    },
})


@bp.route("/communes")
@api_access("directory:read")
def communes():
    page, per_page = page_params()
    query = sa.select(Commune).where(Commune.territory_id.is_not(None))  # the network's communes
    q = _text_param("q")
    if q:
        query = query.where(sa.or_(Commune.name.ilike(f"{q}%"), Commune.insee_code.startswith(q.upper())))
    territory = _text_param("territoire")
    if territory:
        if not is_id(territory):
            raise InvalidParameter("Le paramètre « territoire » doit être un identifiant numérique.",
                                   field="territoire")
        query = query.where(Commune.territory_id == int(territory))
    result = paginate(db.session, query.order_by(Commune.id), page, per_page, exact=True)
    return page_body(result, [commune_json(c) for c in result.items])


openapi_path("/communes", "get", {
    "summary": "Communes du réseau",
    "parameters": PAGE_PARAMETERS + COMMUNE_FILTERS,
    "responses": {"200": {"description": "Une page de communes", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/CommunePage"}}}}, **ERROR_RESPONSES},
})
