"""API of badges.

- ``GET /badges/modeles`` (badges:read): the badge classes the token owner may see (Open Badges
  document URL included).
- ``GET /badges/assertions`` (badges:read): badges of the people whose case the owner may see (ids,
  class, state, URLs; no names).
- ``POST /badges/assertions`` (badges:write, mediators): issue the badge of a milestone validation
  (``{"validation_id": …}``) of a case in scope.
- ``POST /badges/assertions/{id}/revocation`` (badges:write, mediators): revoke with a reason
  (``{"motif": …, "redelivrer": false}``; with ``redelivrer`` true, revoke-and-reissue).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, request
from sqlalchemy.orm import joinedload, selectinload

from mediation.api import (
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    PAGE_PARAMETERS,
    api_access,
    bp,
    error_response,
    openapi_path,
    page_body,
    page_params,
    paged_schema,
)
from mediation.auth.models import Role
from mediation.badges import documents, policy, services
from mediation.badges.models import Assertion, BadgeClass
from mediation.cases.models import Case
from mediation.errors import Forbidden, NotFound, ValidationFailed
from mediation.extensions import db
from mediation.pagination import paginate
from mediation.pathways import policy as pathways_policy
from mediation.pathways.models import Enrolment, MilestoneValidation

STAFF = (Role.ADMIN, Role.COORDINATOR, Role.MEDIATOR)


def _iso(value):
    return value.isoformat() if value is not None else None


def class_json(badge_class: BadgeClass) -> dict:
    return {
        "id": badge_class.id,
        "nom": badge_class.name,
        "type": badge_class.kind.value,
        "niveau": badge_class.level_label,
        "parcours": badge_class.pathway_name,
        "etape_id": badge_class.milestone_id,
        "emetteur_id": badge_class.issuer_id,
        "url": documents.badge_class_url(badge_class),
        "image": documents.badge_image_url(badge_class),
        "alignements": badge_class.alignments or [],
        "approbations": len(badge_class.live_endorsements),
    }


def assertion_json(assertion: Assertion) -> dict:
    return {
        "id": assertion.id,
        "modele_id": assertion.badge_class_id,
        "nom": assertion.badge_class.name,
        "beneficiaire_id": assertion.beneficiary_id,
        "validation_id": assertion.validation_id,
        "structure_id": assertion.structure_id,
        "delivre_le": _iso(assertion.issued_at),
        "automatique": assertion.automatic,
        "type_identite": assertion.recipient_type.value,
        "etat": "revoque" if assertion.is_revoked else "valide",
        "revoque_le": _iso(assertion.revoked_at),
        "redelivrance_de": assertion.reissue_of_id,
        "url": documents.assertion_url(assertion),
        "image_cuite": None if assertion.is_revoked else documents.baked_url(assertion),
    }


@bp.route("/badges/modeles")
@api_access("badges:read", *STAFF)
def badge_classes():
    page, per_page = page_params()
    query = (policy.visible_badge_classes(g.api_user).options(selectinload(BadgeClass.endorsements))
             .order_by(BadgeClass.id))
    result = paginate(db.session, query, page, per_page, exact=True)
    return page_body(result, [class_json(c) for c in result.items])


def _visible_assertions(user):
    beneficiaries = pathways_policy.shared_cases(user).with_only_columns(Case.beneficiary_id)
    return sa.select(Assertion).where(Assertion.beneficiary_id.in_(beneficiaries))


@bp.route("/badges/assertions", methods=["GET"])
@api_access("badges:read", *STAFF)
def assertions():
    page, per_page = page_params()
    query = (_visible_assertions(g.api_user).options(joinedload(Assertion.badge_class))
             .order_by(Assertion.issued_at.desc(), Assertion.id.desc()))
    result = paginate(db.session, query, page, per_page, exact=True)
    return page_body(result, [assertion_json(a) for a in result.items])


def _json_body(allowed: set[str]) -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed("Le corps de la requête doit être un objet JSON.", field="corps")
    unknown = {key: "Champ inconnu" for key in data if key not in allowed}
    if unknown:
        raise ValidationFailed("Champ inconnu.", errors=unknown)
    return data


@bp.route("/badges/assertions", methods=["POST"])
@api_access("badges:write", *STAFF)
def assertion_issue():
    if not policy.can_issue(g.api_user):
        raise Forbidden("Seuls les médiateurs délivrent des badges.")
    data = _json_body({"validation_id"})
    validation_id = data.get("validation_id")
    if not isinstance(validation_id, int) or isinstance(validation_id, bool):
        raise ValidationFailed("Indiquez l'identifiant de la validation (nombre entier).", field="validation_id")
    validation = db.session.get(MilestoneValidation, validation_id)
    case = None
    if validation is not None:
        enrolment = db.session.get(Enrolment, validation.enrolment_id)
        case = policy.get_case(db.session, g.api_user, enrolment.case_id)
    if case is None:
        raise NotFound("Validation introuvable.", field="validation_id")
    created = services.issue_manually(db.session, g.api_user, case, validation_id)
    response = api_json(assertion_json(created), 201)
    response.headers["Location"] = documents.assertion_url(created)
    return response


def api_json(body, status=200):
    from flask import jsonify

    response = jsonify(body)
    response.status_code = status
    return response


@bp.route("/badges/assertions/<int:assertion_id>/revocation", methods=["POST"])
@api_access("badges:write", *STAFF)
def assertion_revoke(assertion_id: int):
    if not policy.can_issue(g.api_user):
        raise Forbidden("Seuls les médiateurs révoquent des badges.")
    found = db.session.scalar(_visible_assertions(g.api_user).where(Assertion.id == assertion_id))
    if found is None:
        raise NotFound("Badge introuvable.")
    data = _json_body({"motif", "redelivrer"})
    reason = data.get("motif")
    if not isinstance(reason, str):
        raise ValidationFailed("Indiquez le motif de la révocation.", field="motif")
    if data.get("redelivrer"):
        new = services.reissue(db.session, g.api_user, found, reason)
        return api_json({"revoque": assertion_json(found), "nouveau": assertion_json(new)})
    services.revoke(db.session, g.api_user, found, reason)
    return api_json(assertion_json(found))


# --- OpenAPI ------------------------------------------------------------------------------------

OPENAPI_SCHEMAS["BadgeClass"] = {
    "type": "object",
    "required": ["id", "nom", "type", "url"],
    "properties": {
        "id": {"type": "integer"}, "nom": {"type": "string"},
        "type": {"type": "string", "enum": ["etape", "niveau", "parcours"]},
        "niveau": {"type": "string"}, "parcours": {"type": "string"}, "etape_id": {"type": "integer"},
        "emetteur_id": {"type": "integer"}, "url": {"type": "string", "format": "uri"},
        "image": {"type": "string", "format": "uri"},
        "alignements": {"type": "array", "items": {"type": "object"}}, "approbations": {"type": "integer"},
    },
}
OPENAPI_SCHEMAS["Assertion"] = {
    "type": "object",
    "required": ["id", "modele_id", "etat", "url"],
    "properties": {
        "id": {"type": "integer"}, "modele_id": {"type": "integer"}, "nom": {"type": "string"},
        "beneficiaire_id": {"type": "integer"}, "validation_id": {"type": "integer", "nullable": True},
        "structure_id": {"type": "integer", "nullable": True}, "delivre_le": {"type": "string", "format": "date-time"},
        "automatique": {"type": "boolean"}, "type_identite": {"type": "string", "enum": ["email", "telephone", "url"]},
        "etat": {"type": "string", "enum": ["valide", "revoque"]},
        "revoque_le": {"type": "string", "format": "date-time", "nullable": True},
        "redelivrance_de": {"type": "integer", "nullable": True},
        "url": {"type": "string", "format": "uri"}, "image_cuite": {"type": "string", "format": "uri", "nullable": True},
    },
}
def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


openapi_path("/badges/modeles", "get", {
    "summary": "Modèles de badges (BadgeClass) visibles", "tags": ["Badges"], "parameters": PAGE_PARAMETERS,
    "responses": {"200": {"description": "Une page de modèles", "content": {"application/json": {
        "schema": paged_schema("#/components/schemas/BadgeClass")}}}, **ERROR_RESPONSES},
})
openapi_path("/badges/assertions", "get", {
    "summary": "Badges délivrés aux personnes de votre périmètre", "tags": ["Badges"], "parameters": PAGE_PARAMETERS,
    "responses": {"200": {"description": "Une page de badges", "content": {"application/json": {
        "schema": paged_schema("#/components/schemas/Assertion")}}}, **ERROR_RESPONSES},
})
openapi_path("/badges/assertions", "post", {
    "summary": "Délivrer le badge d'une étape validée (médiateurs)", "tags": ["Badges"],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["validation_id"], "properties": {"validation_id": {"type": "integer"}}}}}},
    "responses": {"201": _json("#/components/schemas/Assertion", "Badge délivré"),
                  "404": error_response("Validation introuvable dans votre périmètre"),
                  "409": error_response("Badge déjà délivré pour cette validation"),
                  "422": error_response("Corps invalide"), **ERROR_RESPONSES},
})
openapi_path("/badges/assertions/{assertion_id}/revocation", "post", {
    "summary": "Révoquer un badge (ou le révoquer et le délivrer à nouveau)", "tags": ["Badges"],
    "parameters": [{"name": "assertion_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
    "requestBody": {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": ["motif"],
        "properties": {"motif": {"type": "string"}, "redelivrer": {"type": "boolean"}}}}}},
    "responses": {"200": {"description": "Badge révoqué (et le nouveau badge si redelivrer)",
                          "content": {"application/json": {"schema": {"type": "object"}}}},
                  "400": error_response("Déjà révoqué ou motif manquant"),
                  "404": error_response("Badge introuvable dans votre périmètre"),
                  "422": error_response("Corps invalide"), **ERROR_RESPONSES},
})
