"""JSON API under /api/v1: personal tokens (``Authorization: Bearer med_…``), JSON errors,
pagination, and the OpenAPI 3 document at /api/v1/openapi.json.

Each domain's ``api.py`` adds its routes to ``bp`` and documents them with :func:`openapi_path`.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from mediation.extensions import csrf, db
from mediation.policy import PUBLIC

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

OPENAPI_PATHS: dict[str, dict] = {}
OPENAPI_SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "title", "message"],
                "properties": {
                    "status": {"type": "integer"},
                    "title": {"type": "string"},
                    "message": {"type": "string"},
                    "errors": {"type": "object", "additionalProperties": {"type": "string"}},
                },
            }
        },
    },
}


def openapi_path(path: str, method: str, operation: dict) -> None:
    OPENAPI_PATHS.setdefault(path, {})[method.lower()] = operation


def api_error(status: int, message: str, title: str = "Erreur", errors: dict | None = None):
    body = {"status": status, "title": title, "message": message}
    if errors:
        body["errors"] = errors
    return jsonify({"error": body}), status


def api_access(scope: str | None, *roles):
    """Declare what an API route needs: a valid token with ``scope`` (None for PUBLIC) and,
    optionally, one of ``roles``. Sets ``g.api_user`` and ``g.api_token``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if scope is None:
                return view(*args, **kwargs)
            from mediation.auth.services import user_for_api_token

            header = request.headers.get("Authorization", "")
            raw = header[7:].strip() if header.lower().startswith("bearer ") else ""
            found = user_for_api_token(db.session, raw) if raw else None
            if found is None:
                return api_error(401, "Jeton d'API absent, invalide, expiré ou révoqué.", "Non authentifié")
            user, token = found
            if scope not in token.scopes:
                return api_error(403, f"Ce jeton n'a pas la permission « {scope} ».", "Accès refusé")
            if roles and user.role not in roles:
                return api_error(403, "Votre rôle ne permet pas cette opération.", "Accès refusé")
            g.api_user, g.api_token = user, token
            return view(*args, **kwargs)

        wrapper.access_roles = (PUBLIC,) if scope is None else (f"token:{scope}", *roles)
        return wrapper

    return decorator


def page_params() -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        per_page = min(200, max(1, int(request.args.get("per_page", 50))))
    except ValueError:
        page, per_page = 1, 50
    return page, per_page


def page_body(page, items: list) -> dict:
    return {
        "items": items,
        "page": page.page,
        "per_page": page.per_page,
        "total": page.total,
        "pages": page.pages,
    }


PAGE_PARAMETERS = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 1}},
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 200,
                                                   "default": 50}},
]


def paged_schema(item_ref: str) -> dict:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": item_ref}},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
        },
    }


ERROR_RESPONSES = {
    "401": {"description": "Jeton absent ou invalide",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    "403": {"description": "Permission insuffisante",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
}


@bp.route("/openapi.json")
@api_access(None)
def openapi():
    return jsonify(
        {
            "openapi": "3.0.3",
            "info": {
                "title": "Médiation numérique — API",
                "version": "1.0.0",
                "description": "API du back office de médiation numérique. Authentification par jeton "
                "personnel (en-tête Authorization: Bearer …), créé depuis « Mon compte ».",
            },
            "servers": [{"url": current_app.config["MEDIATION_PUBLIC_BASE_URL"] + "/api/v1"}],
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                "schemas": OPENAPI_SCHEMAS,
            },
            "security": [{"bearer": []}],
            "paths": {path: OPENAPI_PATHS[path] for path in sorted(OPENAPI_PATHS)},
        }
    )


# Domain API modules register their routes on ``bp`` when imported.
from mediation.directory import api as _directory_api  # noqa: E402,F401
