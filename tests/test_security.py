import pytest

from mediation.auth.models import Role


def test_security_headers_on_every_page(client):
    response = client.get("/connexion")
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite(client, make_user):
    user = make_user(Role.MEDIATOR)
    from tests.conftest import PASSWORD

    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_forms_refuse_a_post_without_csrf_token(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post("/connexion", data={"email": "x@test.example", "password": "y" * 12})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code == 400
    assert "Le formulaire a expiré" in response.get_data(as_text=True)


def test_every_route_declares_who_may_reach_it(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static":
            assert app.view_functions[rule.endpoint].access_roles, rule.endpoint


@pytest.mark.parametrize("path", ["/", "/annuaire/structures", "/admin/journal/", "/compte"])
def test_anonymous_visitors_are_sent_to_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_oversized_ids_in_urls_are_not_found(client, login, network):
    login(client, network.admin)
    huge = 2**70
    assert client.get(f"/annuaire/structures/{huge}").status_code == 404
    assert client.get(f"/taches/{huge}").status_code == 404


def test_oversized_ids_are_not_found_whatever_the_method(client, session, network):
    from mediation.auth.services import API_SCOPES, create_api_token

    _, raw = create_api_token(session, network.mediator, "Test", sorted(API_SCOPES))
    headers = {"Authorization": f"Bearer {raw}"}
    huge = 2**80
    assert client.get(f"/api/v1/beneficiaires/{huge}", headers=headers).status_code == 404
    assert client.patch(f"/api/v1/beneficiaires/{huge}", json={"nom": "X"}, headers=headers).status_code == 404
