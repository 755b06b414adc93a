"""The OpenAPI 3 document at /api/v1/openapi.json: valid, and complete."""

import re

from openapi_spec_validator import validate

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def openapi_path(rule: str) -> str:
    """``/api/v1/structures/<int:structure_id>`` → ``/structures/{structure_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix("/api/v1"))


def api_routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            methods = {m.lower() for m in rule.methods - IGNORED_METHODS}
            routes.setdefault(openapi_path(rule.rule), set()).update(methods)
    return routes


def test_openapi_document_is_valid(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.json
    validate(document)  # raises on any violation of the OpenAPI 3 specification
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": "https://mediation.example.org/api/v1"}]


def test_every_api_route_is_documented_and_nothing_else(app, client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    routes = api_routes(app)
    assert routes, "no /api/v1 route found"
    missing = [f"{method.upper()} {path}" for path, methods in routes.items()
               for method in sorted(methods) if method not in paths.get(path, {})]
    assert not missing, f"routes de l'API absentes du document OpenAPI : {missing}"
    stale = [f"{method.upper()} {path}" for path, operations in paths.items() for method in operations
             if method not in routes.get(path, set())]
    assert not stale, f"opérations documentées sans route : {stale}"


def test_protected_operations_document_their_errors(client):
    document = client.get("/api/v1/openapi.json").json
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if operation.get("security") == []:
                continue  # public
            assert "401" in operation["responses"], f"{method.upper()} {path}"
            assert "200" in operation["responses"] or "201" in operation["responses"], f"{method.upper()} {path}"


def test_documented_pagination_matches_the_validation(client):
    document = client.get("/api/v1/openapi.json").json
    parameters = {p["name"]: p["schema"] for p in document["paths"]["/communes"]["get"]["parameters"]}
    assert parameters["page"]["minimum"] == 1
    assert (parameters["per_page"]["minimum"], parameters["per_page"]["maximum"]) == (1, 200)


def test_path_conversion():
    assert openapi_path("/api/v1/structures/<int:structure_id>") == "/structures/{structure_id}"
    assert openapi_path("/api/v1/x/<code>/y") == "/x/{code}/y"
