"""Session lifetime: idle timeout (PERMANENT_SESSION_LIFETIME, counted from the last request)
and absolute maximum (12 h after signing in), each ending with « Votre session a expiré… ».
Both are kept on the server-side session row (user_sessions); the cookie's signature age also
counts for the idle delay."""

import html
import time
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner

from mediation.auth.models import Role, UserSession


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def assert_sent_to_sign_in(response, next_page: str) -> None:
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/connexion"
    assert parse_qs(location.query) == {"next": [next_page]}


class Clock:
    """Moves the clock that signs and checks session cookies (itsdangerous) forward."""

    def __init__(self):
        self.offset = 0.0

    def advance(self, **delta) -> None:
        self.offset += timedelta(**delta).total_seconds()


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time() + clock.offset))
    return clock


def test_idle_session_expires_after_30_minutes_without_a_request(client, make_user, login, clock):
    login(client, make_user(Role.MEDIATOR))
    # Activity keeps the session alive: each request starts the 30 minutes again.
    for _ in range(3):
        clock.advance(minutes=29)
        assert client.get("/compte").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/compte")
    assert response.status_code == 302
    assert_sent_to_sign_in(response, next_page="/compte")
    page = text(client.get(response.headers["Location"]))
    assert "Votre session a expiré après 30 minutes d'inactivité : reconnectez-vous pour continuer." in page
    # The message is said once; the visitor is simply signed out afterwards.
    again = client.get("/compte")
    assert again.status_code == 302
    assert "Votre session a expiré" not in text(client.get(again.headers["Location"]))


def test_idle_timeout_follows_the_configuration(app, client, make_user, login, clock, monkeypatch):
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", timedelta(minutes=5))
    login(client, make_user(Role.MEDIATOR))
    clock.advance(minutes=4)
    assert client.get("/").status_code == 200
    clock.advance(minutes=6)
    response = client.get("/", follow_redirects=True)
    assert "Votre session a expiré après 5 minutes d'inactivité" in text(response)
    assert response.request.path == "/connexion"


def test_expired_session_on_the_sign_in_page_shows_the_message_without_redirecting(
        client, make_user, login, clock):
    login(client, make_user(Role.MEDIATOR))
    clock.advance(minutes=45)
    response = client.get("/connexion")
    assert response.status_code == 200
    assert "Votre session a expiré" in text(response)


def test_signed_out_visitors_are_not_told_their_session_expired(client, make_user, login, clock):
    login(client, make_user(Role.MEDIATOR))
    client.post("/deconnexion")
    client.get("/connexion")  # reads the « déconnecté·e » message
    clock.advance(hours=2)
    assert "Votre session a expiré" not in text(client.get("/", follow_redirects=True))


def move_sessions_back(session, *, fields=("created_at", "expires_at", "last_seen_at"), **delta) -> None:
    """The server-side session rows were written ``delta`` earlier (time moves on)."""
    for row in session.scalars(sa.select(UserSession)):
        for field in fields:
            setattr(row, field, getattr(row, field) - timedelta(**delta))
    session.flush()


def test_session_ends_12_hours_after_sign_in_however_active(client, make_user, login, session):
    login(client, make_user(Role.MEDIATOR))
    row = session.scalar(sa.select(UserSession))
    assert row.expires_at - row.created_at == timedelta(hours=12)
    move_sessions_back(session, fields=("created_at", "expires_at"), hours=11, minutes=59)
    assert client.get("/compte").status_code == 200
    move_sessions_back(session, fields=("created_at", "expires_at"), seconds=61)
    response = client.get("/compte")
    assert response.status_code == 302
    assert_sent_to_sign_in(response, next_page="/compte")
    page = text(client.get(response.headers["Location"]))
    assert "Votre session a expiré : par sécurité, une session dure au plus 12 heures." in page
    assert client.get("/compte").status_code == 302


def test_absolute_limit_follows_the_configuration(app, client, make_user, login, monkeypatch, session):
    monkeypatch.setitem(app.config, "SESSION_ABSOLUTE_LIFETIME", timedelta(hours=1))
    login(client, make_user(Role.MEDIATOR))
    move_sessions_back(session, fields=("created_at", "expires_at"), seconds=3601)
    response = client.get("/", follow_redirects=True)
    assert "une session dure au plus 1 heure." in text(response)


def test_idle_timeout_is_kept_on_the_server(client, make_user, login, session):
    """The idle delay counts from the session row's last request, whatever the cookie says."""
    login(client, make_user(Role.MEDIATOR))
    move_sessions_back(session, fields=("last_seen_at",), minutes=29)
    assert client.get("/compte").status_code == 200  # the request counts as activity
    move_sessions_back(session, fields=("last_seen_at",), minutes=30)
    response = client.get("/compte")
    assert_sent_to_sign_in(response, next_page="/compte")
    page = text(client.get(response.headers["Location"]))
    assert "Votre session a expiré après 30 minutes d'inactivité" in page
    assert session.scalar(sa.select(UserSession.revoked_reason)) == "idle"


def test_last_request_time_is_written_at_most_once_a_minute(client, make_user, login, session):
    login(client, make_user(Role.MEDIATOR))
    move_sessions_back(session, fields=("last_seen_at",), seconds=30)
    before = session.scalar(sa.select(UserSession.last_seen_at))
    for _ in range(3):
        assert client.get("/compte").status_code == 200
    session.expire_all()
    assert session.scalar(sa.select(UserSession.last_seen_at)) == before  # 30 s ago: not written again
    move_sessions_back(session, fields=("last_seen_at",), seconds=31)
    assert client.get("/compte").status_code == 200
    session.expire_all()
    assert session.scalar(sa.select(UserSession.last_seen_at)) > before


def test_a_session_without_server_record_is_ended(client, make_user, login):
    login(client, make_user(Role.MEDIATOR))
    with client.session_transaction() as s:
        del s["sid"]
    assert client.get("/compte").status_code == 302


def test_sign_in_time_survives_a_password_change(client, make_user, login):
    from tests.conftest import PASSWORD

    login(client, make_user(Role.MEDIATOR))
    with client.session_transaction() as s:
        signed_in_at = s["login_at"]
    new = "une autre phrase de passe"
    client.post("/compte/mot-de-passe", data={"current_password": PASSWORD, "password": new, "confirm": new})
    with client.session_transaction() as s:
        assert s["login_at"] == signed_in_at


def test_session_cookie_is_refreshed_on_each_request_and_ends_with_the_browser(client, make_user, login):
    login(client, make_user(Role.MEDIATOR))
    response = client.get("/")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("mediation_session=")
    assert "Expires" not in cookie and "Max-Age" not in cookie
    assert "HttpOnly" in cookie


def test_api_requests_get_no_session_cookie(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
