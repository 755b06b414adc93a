"""JSON API under /api/v1: personal tokens (``Authorization: Bearer med_…``), JSON errors,
pagination, and the OpenAPI 3 document at /api/v1/openapi.json.

Each domain's ``api.py`` adds its routes to ``bp`` and documents them with :func:`openapi_path`
(a test checks that every route of the blueprint is documented and that the document is valid).
Errors are JSON everywhere under /api/ (see ``mediation.web``): ``{"error": {"status", "title",
"message", "errors"?}}`` with French messages.
"""

from __future__ import annotations

from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request

from mediation.errors import DomainError
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


# Who holds a raw token: ``(user, token)`` or None. The toolkit sits below the auth domain, which
# hands its lookup over when its API module is imported (mediation.auth.api).
_token_lookup = None


def set_token_lookup(lookup) -> None:
    global _token_lookup
    _token_lookup = lookup


def _token_owner(session, raw: str):
    if _token_lookup is None:
        raise RuntimeError("mediation.auth.api must be imported before serving the API")
    return _token_lookup(session, raw)


def openapi_path(path: str, method: str, operation: dict) -> None:
    OPENAPI_PATHS.setdefault(path, {})[method.lower()] = operation


# ``api_access(ANY_TOKEN)``: any valid token, whatever its permissions.
ANY_TOKEN = "*"
MAX_PAGE = 100_000
MAX_PER_PAGE = 200
DEFAULT_PER_PAGE = 50

ERROR_TITLES = {
    400: "Requête invalide",
    401: "Non authentifié",
    403: "Accès refusé",
    404: "Introuvable",
    409: "Conflit",
    422: "Données invalides",
    429: "Trop de requêtes",
}


class InvalidParameter(DomainError):
    """A query-string parameter has a value the API does not accept (400)."""

    status_code = 400


def api_error(status: int, message: str, title: str | None = None, errors: dict | None = None):
    body = {"status": status, "title": title or ERROR_TITLES.get(status, "Erreur"), "message": message}
    if errors:
        body["errors"] = errors
    response = jsonify({"error": body})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@bp.errorhandler(DomainError)
def domain_error(error: DomainError):
    """Services' refusals as JSON, with the offending field(s) in ``errors``."""
    db.session.rollback()
    errors = dict(error.errors)
    if error.field and error.field not in errors:
        errors[error.field] = error.message
    return api_error(error.status_code, error.message, errors=errors or None)


@bp.after_request
def no_store(response):
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def api_access(scope: str | None, *roles):
    """Declare what an API route needs: a valid token with ``scope`` (None for PUBLIC,
    ``ANY_TOKEN`` for any valid token) and, optionally, one of ``roles``. Missing, unknown,
    expired or revoked token → 401; valid token without the scope or the role → 403.
    Sets ``g.api_user`` and ``g.api_token``."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if scope is None:
                return view(*args, **kwargs)
            header = request.headers.get("Authorization", "")
            raw = header[7:].strip() if header.lower().startswith("bearer ") else ""
            found = _token_owner(db.session, raw) if raw else None
            if found is None:
                return api_error(401, "Jeton d'API absent, invalide, expiré ou révoqué.", "Non authentifié")
            user, token = found
            if scope != ANY_TOKEN and scope not in token.scopes:
                return api_error(403, f"Ce jeton n'a pas la permission « {scope} ».", "Accès refusé")
            if roles and user.role not in roles:
                return api_error(403, "Votre rôle ne permet pas cette opération.", "Accès refusé")
            g.api_user, g.api_token = user, token
            return view(*args, **kwargs)

        wrapper.access_roles = (PUBLIC,) if scope is None else (f"token:{scope}", *roles)
        return wrapper

    return decorator


MAX_ID = 2**63 - 1  # a BIGINT: larger identifiers match nothing (SQLite cannot even bind them)


def is_id(raw: str) -> bool:
    """An identifier in a query string: ASCII digits within the database's integer range."""
    return raw.isascii() and raw.isdigit() and int(raw) <= MAX_ID


def _too_large(value) -> bool:
    if isinstance(value, dict):
        return any(_too_large(v) for v in value.values())
    if isinstance(value, list):
        return any(_too_large(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ID


@bp.before_request
def integers_in_range():
    """``/<int:…_id>`` beyond the database's integer range: no such record (404); a JSON body holding
    such a number: a 400 naming the problem, not a crash of the database driver."""
    if any(isinstance(v, int) and v > MAX_ID for v in (request.view_args or {}).values()):
        return api_error(404, "Cette ressource n'existe pas ou n'est pas accessible avec ce jeton.",
                         "Introuvable")
    if request.is_json and _too_large(request.get_json(silent=True)):
        return api_error(400, "Un nombre du corps JSON dépasse les valeurs admises.")
    return None


def _int_param(name: str, default: int, minimum: int, maximum: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    raw = raw.strip()
    value = int(raw) if raw.isascii() and raw.isdigit() else None
    if value is None or not minimum <= value <= maximum:
        message = (f"Le paramètre « {name} » doit être un nombre entier compris entre {minimum} et "
                   f"{maximum:,}.".replace(",", "\u202f"))
        raise InvalidParameter(message, field=name)
    return value


def page_params(default_per_page: int = DEFAULT_PER_PAGE) -> tuple[int, int]:
    """``page`` (from 1) and ``per_page`` (1 to 200) from the query string. A value that is not
    such a number is refused with a 400 JSON error naming the parameter (no silent default)."""
    page = _int_param("page", 1, 1, MAX_PAGE)
    per_page = _int_param("per_page", default_per_page, 1, MAX_PER_PAGE)
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
    {"name": "page", "in": "query", "description": "Numéro de page, à partir de 1",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}},
    {"name": "per_page", "in": "query", "description": "Nombre d'éléments par page",
     "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE}},
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


def error_response(description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


ERROR_RESPONSES = {
    "400": error_response("Paramètre invalide (par exemple page ou per_page)"),
    "401": error_response("Jeton absent, invalide, expiré ou révoqué"),
    "403": error_response("Permission insuffisante"),
}


def openapi_document() -> dict:
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Médiation numérique — API",
            "version": "1.0.0",
            "description": "API du back office de médiation numérique. Authentification par jeton "
            "personnel (en-tête Authorization: Bearer …), créé depuis « Mon compte ». Les listes "
            "sont paginées (page, per_page) ; les erreurs sont des objets JSON « error » aux "
            "messages en français.",
        },
        "servers": [{"url": current_app.config["MEDIATION_PUBLIC_BASE_URL"] + "/api/v1"}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": OPENAPI_SCHEMAS,
        },
        "security": [{"bearer": []}],
        "paths": {path: OPENAPI_PATHS[path] for path in sorted(OPENAPI_PATHS)},
    }


@bp.route("/openapi.json")
@api_access(None)
def openapi():
    return jsonify(openapi_document())


openapi_path("/openapi.json", "get", {
    "summary": "Ce document OpenAPI 3",
    "security": [],
    "responses": {"200": {"description": "Le document OpenAPI de l'API",
                          "content": {"application/json": {"schema": {"type": "object"}}}}},
})
