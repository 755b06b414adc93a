"""Mandate endpoints for habilitated aidants: list and read (``mandates:read``), create and revoke
(``mandates:write``, with a current TOTP code in the body, as on the web pages). Everything is
limited to the structures the aidant works for: another structure's mandate answers 404."""

from __future__ import annotations

import sqlalchemy as sa
from flask import g, request
from sqlalchemy.orm import selectinload

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
from mediation.auth import services as auth_services
from mediation.auth.models import Role
from mediation.errors import DomainError, Forbidden
from mediation.extensions import db
from mediation.mandates import attestation, policy, services
from mediation.mandates.enums import (
    CHOSEN_REVOCATION_REASONS,
    AuthorizationStatus,
    Demarche,
    IdentityCheck,
    MandateDuration,
    MandateStatus,
)
from mediation.mandates.models import Authorization, Mandate
from mediation.pagination import paginate
from mediation.transaction import keep_despite_error
from mediation.types import utcnow


def _iso(value):
    return value.isoformat() if value is not None else None


def mandate_json(mandate: Mandate, now) -> dict:
    status = mandate.status(now)
    return {
        "id": mandate.id,
        "reference": mandate.reference,
        "structure_id": mandate.structure_id,
        "beneficiaire_id": mandate.beneficiary_id,
        "etat": status.value,
        "etat_libelle": status.label,
        "duree": mandate.duration.value,
        "duree_libelle": mandate.duration.label,
        "cree_le": _iso(mandate.created_at),
        "expire_le": _iso(mandate.expires_at),
        "modele": mandate.template_version,
        "empreinte_attestation": mandate.attestation_sha256,
        "url_verification": attestation.verification_url(mandate.public_token),
        "autorisations": [
            {
                "demarche": a.demarche.value,
                "libelle": a.demarche.label,
                "etat": a.status(now).value,
                "revoquee_le": _iso(a.revoked_at),
                "motif": a.revocation_reason.value if a.revocation_reason else None,
            }
            for a in mandate.authorizations
        ],
    }


def _aidant():
    problem = policy.habilitation_problem(g.api_user)
    if problem:
        raise Forbidden(problem)
    return g.api_user


def _load_or_404(mandate_id: int):
    mandate = policy.get_mandate(db.session, _aidant(), mandate_id, selectinload(Mandate.authorizations))
    if mandate is None:
        return None, api_error(404, "Mandat introuvable dans vos structures.")
    return mandate, None


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidParameter("Le corps de la requête doit être un objet JSON.")
    return body


def _second_factor_refusal(error: DomainError):
    """A wrong code was recorded as a failed sign-in (it feeds throttling): keep that record."""
    keep_despite_error()
    status = 429 if isinstance(error, auth_services.LoginLocked) else 422
    return api_error(status, error.message, errors={"code_totp": error.message})


SECOND_FACTOR_ERRORS = (auth_services.ReauthenticationFailed, auth_services.LoginLocked)
STATES = ("en_cours", "tous")


@bp.route("/mandats")
@api_access("mandates:read", Role.MEDIATOR)
def mandates():
    user = _aidant()
    page_number, per_page = page_params()
    state = request.args.get("etat", "en_cours")
    if state not in STATES:
        raise InvalidParameter("Le paramètre « etat » vaut « en_cours » ou « tous ».", field="etat")
    now = utcnow()
    query = policy.visible_mandates(user).options(selectinload(Mandate.authorizations)).order_by(Mandate.id)
    if state == "en_cours":
        live = sa.select(Authorization.mandate_id).where(Authorization.revoked_at.is_(None),
                                                      Authorization.expires_at > now)
        query = query.where(Mandate.id.in_(live))
    page = paginate(db.session, query, page_number, per_page, exact=True)
    return page_body(page, [mandate_json(m, now) for m in page.items])


@bp.route("/mandats/<int:mandate_id>")
@api_access("mandates:read", Role.MEDIATOR)
def mandate(mandate_id: int):
    found, refusal = _load_or_404(mandate_id)
    return refusal or mandate_json(found, utcnow())


@bp.route("/mandats", methods=["POST"])
@api_access("mandates:write", Role.MEDIATOR)
def mandate_create():
    user = _aidant()
    body = _body()
    draft = services.MandateDraft(
        structure_id=body.get("structure_id"), beneficiary_id=body.get("beneficiaire_id"),
        demarches=body.get("demarches") if isinstance(body.get("demarches"), list) else [],
        duration=body.get("duree"), identity_check=body.get("verification_identite"),
    )
    try:
        created = services.create_mandate(db.session, user, draft, totp_code=str(body.get("code_totp") or ""),
                                          consent=body.get("consentement") is True)
    except SECOND_FACTOR_ERRORS as error:
        return _second_factor_refusal(error)
    return mandate_json(created, utcnow()), 201


@bp.route("/mandats/<int:mandate_id>/revocation", methods=["POST"])
@api_access("mandates:write", Role.MEDIATOR)
def mandate_revoke(mandate_id: int):
    found, refusal = _load_or_404(mandate_id)
    if refusal:
        return refusal
    body = _body()
    demarches = body.get("demarches")
    if demarches is not None and not isinstance(demarches, list):
        raise InvalidParameter("« demarches » est une liste de démarches (ou absent pour tout le mandat).",
                               field="demarches")
    try:
        services.revoke(db.session, g.api_user, found, demarches, body.get("motif"),
                        totp_code=str(body.get("code_totp") or ""))
    except SECOND_FACTOR_ERRORS as error:
        return _second_factor_refusal(error)
    return mandate_json(found, utcnow())


# --- OpenAPI --------------------------------------------------------------------------------

OPENAPI_SCHEMAS["Mandat"] = {
    "type": "object",
    "required": ["id", "reference", "structure_id", "etat", "duree", "cree_le", "expire_le", "autorisations"],
    "properties": {
        "id": {"type": "integer"},
        "reference": {"type": "string"},
        "structure_id": {"type": "integer"},
        "beneficiaire_id": {"type": "integer", "nullable": True},
        "etat": {"type": "string", "enum": [s.value for s in MandateStatus]},
        "etat_libelle": {"type": "string"},
        "duree": {"type": "string", "enum": [d.value for d in MandateDuration]},
        "duree_libelle": {"type": "string"},
        "cree_le": {"type": "string", "format": "date-time"},
        "expire_le": {"type": "string", "format": "date-time"},
        "modele": {"type": "string", "description": "Version du texte juridique du mandat"},
        "empreinte_attestation": {"type": "string", "description": "SHA-256 de l'attestation PDF"},
        "url_verification": {"type": "string", "format": "uri"},
        "autorisations": {"type": "array", "items": {
            "type": "object",
            "required": ["demarche", "libelle", "etat"],
            "properties": {
                "demarche": {"type": "string", "enum": [d.value for d in Demarche]},
                "libelle": {"type": "string"},
                "etat": {"type": "string", "enum": [s.value for s in AuthorizationStatus]},
                "revoquee_le": {"type": "string", "format": "date-time", "nullable": True},
                "motif": {"type": "string", "nullable": True},
            },
        }},
    },
}
OPENAPI_SCHEMAS["MandatCreation"] = {
    "type": "object",
    "required": ["structure_id", "beneficiaire_id", "demarches", "duree", "verification_identite",
                 "consentement", "code_totp"],
    "properties": {
        "structure_id": {"type": "integer", "description": "Structure qui reçoit le mandat"},
        "beneficiaire_id": {"type": "integer"},
        "demarches": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": [d.value for d in Demarche]}},
        "duree": {"type": "string", "enum": [d.value for d in MandateDuration]},
        "verification_identite": {"type": "string", "enum": [c.value for c in IdentityCheck]},
        "consentement": {"type": "boolean", "description": "La personne a été informée et consent (doit valoir true)"},
        "code_totp": {"type": "string", "description": "Code de double authentification actuel de l'aidant"},
    },
}
OPENAPI_SCHEMAS["MandatRevocation"] = {
    "type": "object",
    "required": ["motif", "code_totp"],
    "properties": {
        "demarches": {"type": "array", "items": {"type": "string", "enum": [d.value for d in Demarche]},
                      "description": "Démarches à révoquer ; absent ou vide : tout le mandat"},
        "motif": {"type": "string", "enum": [r.value for r in CHOSEN_REVOCATION_REASONS]},
        "code_totp": {"type": "string"},
    },
}

_MANDATE_RESPONSE = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Mandat"}}}}
_NOT_FOUND = error_response("Mandat introuvable dans les structures de l'aidant")
_REFUSED = error_response("Données invalides, code de double authentification incorrect, ou autorisation "
                          "qui n'est plus en vigueur")
_MANDATE_ID = {"name": "mandate_id", "in": "path", "required": True, "schema": {"type": "integer"}}

openapi_path("/mandats", "get", {
    "summary": "Les mandats des structures de l'aidant",
    "description": "Réservé aux aidants habilités (permission mandates:read). Par défaut, seuls les mandats "
                   "ayant au moins une autorisation en vigueur.",
    "parameters": [*PAGE_PARAMETERS, {"name": "etat", "in": "query", "schema": {"type": "string", "enum": list(STATES),
                                                                               "default": "en_cours"}}],
    "responses": {"200": {"description": "Une page de mandats", "content": {"application/json": {"schema": {
        "type": "object", "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Mandat"}},
                       "page": {"type": "integer"}, "per_page": {"type": "integer"},
                       "total": {"type": "integer"}, "pages": {"type": "integer"}}}}}},
                  **ERROR_RESPONSES},
})
openapi_path("/mandats", "post", {
    "summary": "Créer un mandat (en présence de la personne)",
    "description": "Réservé aux aidants habilités (permission mandates:write) ; le code de double authentification "
                   "actuel est exigé. Les autorisations en vigueur pour les mêmes démarches sont remplacées.",
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/MandatCreation"}}}},
    "responses": {"201": {"description": "Le mandat créé", **_MANDATE_RESPONSE}, **ERROR_RESPONSES,
                  "422": _REFUSED, "429": error_response("Trop de codes incorrects : réessayez plus tard")},
})
openapi_path("/mandats/{mandate_id}", "get", {
    "summary": "Un mandat",
    "parameters": [_MANDATE_ID],
    "responses": {"200": {"description": "Le mandat", **_MANDATE_RESPONSE}, **ERROR_RESPONSES, "404": _NOT_FOUND},
})
openapi_path("/mandats/{mandate_id}/revocation", "post", {
    "summary": "Révoquer tout ou partie d'un mandat",
    "description": "Réservé aux aidants habilités de la structure qui détient le mandat (permission "
                   "mandates:write) ; le code de double authentification actuel est exigé.",
    "parameters": [_MANDATE_ID],
    "requestBody": {"required": True, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/MandatRevocation"}}}},
    "responses": {"200": {"description": "Le mandat après révocation", **_MANDATE_RESPONSE}, **ERROR_RESPONSES,
                  "404": _NOT_FOUND, "422": _REFUSED,
                  "429": error_response("Trop de codes incorrects : réessayez plus tard")},
})
