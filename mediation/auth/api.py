"""API: who am I? Lets a client check its token (any valid token, whatever its permissions)."""

from __future__ import annotations

from flask import g

from mediation.api import (
    ANY_TOKEN,
    ERROR_RESPONSES,
    OPENAPI_SCHEMAS,
    api_access,
    bp,
    openapi_path,
    set_token_lookup,
)
from mediation.auth.services import user_for_api_token

set_token_lookup(user_for_api_token)  # the API toolkit asks auth who holds a token


def _iso(value):
    return value.isoformat() if value is not None else None


OPENAPI_SCHEMAS["Me"] = {
    "type": "object",
    "required": ["utilisateur", "jeton"],
    "properties": {
        "utilisateur": {
            "type": "object",
            "required": ["id", "role", "role_libelle"],
            "properties": {
                "id": {"type": "integer"},
                "role": {"type": "string", "enum": ["admin", "coordinator", "mediator", "funder",
                                                    "beneficiary"]},
                "role_libelle": {"type": "string"},
            },
        },
        "jeton": {
            "type": "object",
            "required": ["nom", "prefixe", "permissions", "cree_le", "expire_le"],
            "properties": {
                "nom": {"type": "string"},
                "prefixe": {"type": "string"},
                "permissions": {"type": "array", "items": {"type": "string"}},
                "cree_le": {"type": "string", "format": "date-time"},
                "expire_le": {"type": "string", "format": "date-time", "nullable": True},
            },
        },
    },
}


@bp.route("/moi")
@api_access(ANY_TOKEN)
def me():
    user, token = g.api_user, g.api_token
    return {
        "utilisateur": {"id": user.id, "role": user.role.value, "role_libelle": user.role_label},
        "jeton": {
            "nom": token.name,
            "prefixe": token.prefix,
            "permissions": list(token.scopes),
            "cree_le": _iso(token.created_at),
            "expire_le": _iso(token.expires_at),
        },
    }


openapi_path("/moi", "get", {
    "summary": "Le compte et le jeton utilisés pour la requête",
    "description": "Permet à un client de vérifier son jeton : accessible avec tout jeton valide.",
    "responses": {
        "200": {"description": "Le compte et le jeton", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Me"}}}},
        "401": ERROR_RESPONSES["401"],
    },
})
