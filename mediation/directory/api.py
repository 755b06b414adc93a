"""Directory endpoints: structures and communes (read-only, scope directory:read)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g

from mediation.api import (
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    PAGE_PARAMETERS,
    api_access,
    bp,
    openapi_path,
    page_body,
    page_params,
    paged_schema,
)
from mediation.directory import policy
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
        "population": {"type": "integer", "nullable": True},
        "latitude": {"type": "number", "nullable": True},
        "longitude": {"type": "number", "nullable": True},
        "territoire_id": {"type": "integer"},
    },
}
OPENAPI_SCHEMAS["StructurePage"] = paged_schema("#/components/schemas/Structure")
OPENAPI_SCHEMAS["CommunePage"] = paged_schema("#/components/schemas/Commune")


@bp.route("/structures")
@api_access("directory:read")
def structures():
    page, per_page = page_params()
    query = policy.visible_structures(g.api_user).order_by(Structure.id)
    result = paginate(db.session, query, page, per_page)
    return page_body(result, [structure_json(s) for s in result.items])


openapi_path("/structures", "get", {
    "summary": "Lieux de médiation numérique du réseau",
    "parameters": PAGE_PARAMETERS,
    "responses": {"200": {"description": "Une page de structures", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/StructurePage"}}}}, **ERROR_RESPONSES},
})


@bp.route("/communes")
@api_access("directory:read")
def communes():
    page, per_page = page_params()
    query = sa.select(Commune).order_by(Commune.id)
    result = paginate(db.session, query, page, per_page)
    return page_body(result, [commune_json(c) for c in result.items])


openapi_path("/communes", "get", {
    "summary": "Communes du réseau",
    "parameters": PAGE_PARAMETERS,
    "responses": {"200": {"description": "Une page de communes", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/CommunePage"}}}}, **ERROR_RESPONSES},
})
