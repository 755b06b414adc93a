"""API base: JSON errors under /api/, token authentication, pagination parameters."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.auth import services
from mediation.auth.models import ApiToken, Role
from mediation.types import utcnow


def bearer(raw: str) -> dict:
    return {"Authorization": f"Bearer {raw}"}


def assert_json_error(response, status: int, *fragments: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.json["error"]
    assert error["status"] == status
    assert error["title"] and error["message"]
    for fragment in fragments:
        assert fragment in error["message"], (fragment, error["message"])
    return error


@pytest.fixture
def token(session, network):
    """A mediator's token allowed to read the directory."""
    _, raw = services.create_api_token(session, network.mediator, "Tests", ["directory:read"])
    session.flush()
    return raw


# --- JSON errors ---------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nulle-part", "/api/v1/structures/999999/rien", "/api/ailleurs"])
def test_unknown_api_path_is_a_json_404(client, path):
    assert_json_error(client.get(path), 404, "n'existe pas")


def test_wrong_method_is_a_json_405_saying_what_is_allowed(client, token):
    response = client.post("/api/v1/communes", headers=bearer(token), json={})
    assert_json_error(response, 405)
    assert "GET" in response.headers["Allow"]
    assert_json_error(client.delete("/api/v1/openapi.json"), 405)


def test_web_pages_keep_html_errors(client):
    response = client.get("/nulle-part")
    assert response.status_code == 404 and response.mimetype == "text/html"


@pytest.fixture
def failing_app(app):
    """A second application on the same database with a route that crashes."""
    from mediation import create_app
    from mediation.extensions import db
    from mediation.policy import PUBLIC, access

    other = create_app({key: app.config[key] for key in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "SECRET_KEY",
        "MEDIATION_PUBLIC_BASE_URL", "MEDIATION_OUTBOX_DIR", "MEDIATION_ENV")})

    @access(PUBLIC)
    def crash():
        raise RuntimeError("boom")

    other.add_url_rule("/api/v1/panne", "crash", crash)
    other.add_url_rule("/panne", "crash_page", crash)
    yield other
    with other.app_context():
        db.engine.dispose()


def test_unexpected_error_is_a_json_500_in_french(failing_app):
    client = failing_app.test_client()
    error = assert_json_error(client.get("/api/v1/panne"), 500, "rien n'a été enregistré")
    assert "boom" not in error["message"]
    assert client.get("/panne").mimetype == "text/html"


def test_api_responses_are_not_cached(client, token):
    response = client.get("/api/v1/communes", headers=bearer(token))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


# --- token authentication ------------------------------------------------------------------

@pytest.mark.parametrize("header", [
    None,
    "Bearer",
    "Bearer ",
    "Bearer med_inconnu",
    "Token {raw}",
    "Basic {raw}",
    "{raw}",
])
def test_missing_or_malformed_token_is_a_json_401(client, token, header):
    headers = {} if header is None else {"Authorization": header.format(raw=token)}
    response = client.get("/api/v1/structures", headers=headers)
    assert_json_error(response, 401, "Jeton d'API absent, invalide, expiré ou révoqué.")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_refused(client, session, network, token):
    row = session.scalars(sa.select(ApiToken).where(ApiToken.user_id == network.mediator.id)).one()
    assert client.get("/api/v1/structures", headers=bearer(token)).status_code == 200
    services.revoke_api_token(session, row, actor=network.mediator)
    session.flush()
    assert_json_error(client.get("/api/v1/structures", headers=bearer(token)), 401)


def test_expired_token_is_refused(client, session, network):
    row, raw = services.create_api_token(session, network.mediator, "Court", ["directory:read"], days=30)
    row.expires_at = utcnow() - timedelta(seconds=1)
    session.flush()
    assert_json_error(client.get("/api/v1/structures", headers=bearer(raw)), 401)


def test_token_of_a_deactivated_account_is_refused(client, session, network, token):
    network.mediator.is_active_account = False
    session.flush()
    assert_json_error(client.get("/api/v1/structures", headers=bearer(token)), 401)


def test_token_without_the_scope_is_a_json_403(client, session, network):
    _, raw = services.create_api_token(session, network.mediator, "Activités", ["activities:read"])
    session.flush()
    assert_json_error(client.get("/api/v1/structures", headers=bearer(raw)), 403, "directory:read")


def test_any_valid_token_may_ask_who_it_is(client, session, network):
    _, raw = services.create_api_token(session, network.coordinator, "Tableur",
                                       ["activities:read", "beneficiaries:read"], days=365)
    session.flush()
    response = client.get("/api/v1/moi", headers=bearer(raw))
    assert response.status_code == 200
    body = response.json
    assert body["utilisateur"] == {"id": network.coordinator.id, "role": "coordinator",
                                   "role_libelle": Role.COORDINATOR.label}
    assert body["jeton"]["permissions"] == ["activities:read", "beneficiaries:read"]
    assert body["jeton"]["prefixe"] == raw[:12]
    assert network.coordinator.email not in response.get_data(as_text=True)


def test_a_session_cookie_is_not_an_api_credential(client, network, login):
    login(client, network.admin)
    assert_json_error(client.get("/api/v1/structures"), 401)


# --- pagination ----------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "name"), [
    ("page=0", "page"),
    ("page=-1", "page"),
    ("page=abc", "page"),
    ("page=1.5", "page"),
    ("page=", "page"),
    ("page=%C2%B2", "page"),
    ("page=100001", "page"),
    ("per_page=0", "per_page"),
    ("per_page=201", "per_page"),
    ("per_page=dix", "per_page"),
    ("page=2&per_page=-5", "per_page"),
])
def test_bad_pagination_is_a_json_400_naming_the_parameter(client, token, query, name):
    response = client.get(f"/api/v1/communes?{query}", headers=bearer(token))
    error = assert_json_error(response, 400, f"Le paramètre « {name} » doit être un nombre entier")
    assert error["title"] == "Requête invalide"
    assert set(error["errors"]) == {name}


def test_pagination_pages_through_a_list(client, token, network):
    first = client.get("/api/v1/communes?page=1&per_page=2", headers=bearer(token)).json
    assert (first["page"], first["per_page"], first["total"], first["pages"]) == (1, 2, 3, 2)
    assert len(first["items"]) == 2
    second = client.get("/api/v1/communes?page=2&per_page=2", headers=bearer(token)).json
    assert len(second["items"]) == 1
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert sorted(ids) == sorted(c.id for c in (network.commune_a, network.commune_b, network.commune_far))
    beyond = client.get("/api/v1/communes?page=9&per_page=2", headers=bearer(token))
    assert beyond.status_code == 200 and beyond.json["items"] == []
    default = client.get("/api/v1/communes", headers=bearer(token)).json
    assert (default["page"], default["per_page"]) == (1, 50)
    spaced = client.get("/api/v1/communes?per_page=%202%20", headers=bearer(token)).json
    assert spaced["per_page"] == 2
