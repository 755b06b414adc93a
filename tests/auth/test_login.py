import pyotp
import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth.models import Role
from tests.conftest import PASSWORD, TOTP_SECRET


def test_mediator_signs_in_with_password_and_sees_home(client, make_user):
    user = make_user(Role.MEDIATOR)
    response = client.post("/connexion", data={"email": user.email.upper(), "password": PASSWORD})
    assert response.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert f"Bonjour {user.first_name}" in page
    assert "Médiateur·rice numérique" in page


def test_wrong_password_gets_a_french_message_and_no_session(client, make_user):
    user = make_user(Role.MEDIATOR)
    response = client.post("/connexion", data={"email": user.email, "password": "mauvais"})
    assert response.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_unknown_account_gets_the_same_message(client):
    response = client.post("/connexion", data={"email": "personne@test.example", "password": "x" * 12})
    assert "Adresse e-mail ou mot de passe incorrect." in response.get_data(as_text=True)


@pytest.mark.usefixtures("ratelimit_backend")
def test_login_is_throttled_after_repeated_failures(app, client, make_user, session):
    user = make_user(Role.MEDIATOR)
    for _ in range(app.config["MEDIATION_LOGIN_MAX_FAILURES"] - 1):
        client.post("/connexion", data={"email": user.email, "password": "mauvais"})
    response = client.post("/connexion", data={"email": user.email, "password": "mauvais"})
    assert response.status_code == 429
    assert "ce compte est bloqué pendant 15 minutes" in response.get_data(as_text=True)
    # Even the right password is refused while locked.
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 429
    assert client.get("/").status_code == 302
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))).all()
    assert "auth.locked" in actions


def test_totp_user_must_give_a_valid_code(client, make_user, session):
    user = make_user(Role.COORDINATOR, territory=None) if False else make_user(Role.MEDIATOR, totp=True)
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/connexion/verification")
    assert client.get("/").status_code == 302  # not signed in yet
    bad = client.post("/connexion/verification", data={"code": "000000"})
    assert "Code incorrect ou déjà utilisé." in bad.get_data(as_text=True)
    code = pyotp.TOTP(TOTP_SECRET).now()
    ok = client.post("/connexion/verification", data={"code": code})
    assert ok.status_code == 302
    assert client.get("/").status_code == 200


def test_totp_code_cannot_be_replayed(client, make_user, session, app):
    user = make_user(Role.MEDIATOR, totp=True)
    code = pyotp.TOTP(TOTP_SECRET).now()
    client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert client.post("/connexion/verification", data={"code": code}).status_code == 302
    other = app.test_client()
    other.post("/connexion", data={"email": user.email, "password": PASSWORD})
    replay = other.post("/connexion/verification", data={"code": code})
    assert "Code incorrect ou déjà utilisé." in replay.get_data(as_text=True)


def test_admin_without_totp_is_sent_to_enrolment(client, make_user, login):
    admin = make_user(Role.ADMIN, totp=False)
    login(client, admin)
    response = client.get("/admin/journal/")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/compte/double-authentification")


def test_totp_enrolment_with_qr_code_and_recovery_codes(client, make_user, login, session):
    admin = make_user(Role.ADMIN, totp=False)
    login(client, admin)
    page = client.get("/compte/double-authentification").get_data(as_text=True)
    assert "<svg" in page and "QR code" in page
    with client.session_transaction() as s:
        secret = s["totp_setup_secret"]
    wrong = client.post("/compte/double-authentification", data={"code": "123456"})
    assert "Le code saisi ne correspond pas" in wrong.get_data(as_text=True)
    done = client.post("/compte/double-authentification", data={"code": pyotp.TOTP(secret).now()})
    body = done.get_data(as_text=True)
    assert "codes de secours" in body
    assert admin.totp_enabled and len(admin.recovery_codes) == 10
    assert client.get("/admin/journal/").status_code == 200


def test_recovery_code_signs_in_once(client, make_user, login, session, app):
    from mediation.auth import services

    user = make_user(Role.MEDIATOR, totp=False)
    codes = services.enable_totp(session, user, TOTP_SECRET, pyotp.TOTP(TOTP_SECRET).now())
    session.flush()
    client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert client.post("/connexion/verification", data={"code": codes[0]}).status_code == 302
    other = app.test_client()
    other.post("/connexion", data={"email": user.email, "password": PASSWORD})
    again = other.post("/connexion/verification", data={"code": codes[0]})
    assert "Code incorrect" in again.get_data(as_text=True)


def test_logout_requires_post_and_ends_the_session(client, make_user, login):
    user = make_user(Role.MEDIATOR)
    login(client, user)
    assert client.get("/deconnexion").status_code == 405
    client.post("/deconnexion")
    assert client.get("/").status_code == 302


def test_password_reset_by_email_link(client, make_user, outbox, session):
    user = make_user(Role.MEDIATOR)
    response = client.post("/mot-de-passe-oublie", data={"email": user.email})
    assert response.status_code == 302
    assert len(outbox) == 1
    body = outbox[0].get_content()
    link = next(line for line in body.splitlines() if line.startswith("https://mediation.example.org/"))
    path = link.removeprefix("https://mediation.example.org")
    short = client.post(path, data={"password": "court", "confirm": "court"})
    assert "au moins 12 caractères" in short.get_data(as_text=True)
    new = "une phrase de passe assez longue"
    assert client.post(path, data={"password": new, "confirm": new}).status_code == 302
    assert client.post("/connexion", data={"email": user.email, "password": new}).status_code == 302
    # The link works once.
    again = client.get(path)
    assert again.status_code == 302


def test_password_reset_for_unknown_email_says_the_same_and_sends_nothing(client, outbox):
    response = client.post("/mot-de-passe-oublie", data={"email": "inconnu@test.example"}, follow_redirects=True)
    assert "Si un compte existe avec cette adresse" in response.get_data(as_text=True)
    assert outbox == []


def test_changing_password_ends_other_sessions(client, make_user, login, session, app):
    from mediation.auth import services

    user = make_user(Role.MEDIATOR)
    login(client, user)
    assert client.get("/").status_code == 200
    services.set_password(session, user, "un tout nouveau mot de passe")
    session.flush()
    assert client.get("/").status_code == 302
