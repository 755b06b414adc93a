"""« Mon compte »: identity, password change, recovery codes, turning the second factor off."""

import html
from datetime import date, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth import services
from mediation.auth.models import Role
from mediation.directory.models import StaffMembership
from mediation.types import utcnow
from tests.conftest import PASSWORD, TOTP_SECRET

NEW_PASSWORD = "une nouvelle phrase de passe"


def actions_on(session, user) -> list[str]:
    return session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "users",
                                           AuditEvent.object_id == str(user.id)).order_by(AuditEvent.id)
    ).all()


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def next_code(secret: str = TOTP_SECRET) -> str:
    """The code of the next 30-second step: accepted once the current one has been used."""
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=30))


def test_account_shows_identity_role_structures_and_second_factor_status(client, network, login, session):
    session.add(StaffMembership(user=network.mediator, structure=network.structure_b,
                                started_on=date(2020, 1, 1), ended_on=date(2023, 12, 31)))
    session.flush()
    login(client, network.mediator)
    page = client.get("/compte").get_data(as_text=True)
    assert network.mediator.email in page
    assert "Médiateur·rice numérique (conseiller·ère numérique)" in page
    assert "France Services A (Ville-A)" in page
    assert "Médiathèque B" not in page  # ended membership
    assert "Non activée" in page
    assert 'href="/compte/double-authentification"' in page
    assert 'href="/compte/mot-de-passe"' in page
    assert 'href="/compte/jetons"' in page


def test_coordinator_sees_territory_and_compulsory_second_factor(client, network, login):
    login(client, network.coordinator)
    page = client.get("/compte").get_data(as_text=True)
    assert "Métropole Test" in page
    assert "Activée" in page
    assert "obligatoire pour votre rôle" in page
    assert "/compte/double-authentification/desactivation" not in page
    assert "/compte/codes-de-secours" in page


def test_funder_account_offers_indicator_tokens(client, network, login):
    login(client, network.funder)
    page = client.get("/compte").get_data(as_text=True)
    assert "Département" in page  # organisation
    assert "/compte/jetons" in page  # tokens limited to indicators:read (see test_tokens)


# --- password change -------------------------------------------------------------------------

def test_password_change_refuses_bad_input_and_changes_nothing(client, make_user, login, session):
    user = make_user(Role.MEDIATOR)
    login(client, user)
    before = user.password_hash
    cases = [  # refused by the service: 422 (rolled back); by the form's own validators: 200
        ({"current_password": "pas le bon mot", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
         "Le mot de passe actuel est incorrect.", 422),
        ({"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": "autre chose encore"},
         "Les deux mots de passe ne sont pas identiques.", 200),
        ({"current_password": PASSWORD, "password": "court", "confirm": "court"}, "au moins 12 caractères", 422),
        ({"current_password": PASSWORD, "password": PASSWORD, "confirm": PASSWORD},
         "Choisissez un mot de passe différent de l'actuel.", 422),
        ({}, "Saisissez votre mot de passe actuel.", 200),
    ]
    for data, message, status in cases:
        response = client.post("/compte/mot-de-passe", data=data)
        assert response.status_code == status, message
        assert message in text(response), message
        session.refresh(user)
        assert user.password_hash == before
    assert "auth.password_changed" not in actions_on(session, user)
    # The wrong current password was recorded as a failed sign-in.
    failed = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "auth.login_failed",
                                                         AuditEvent.object_id == str(user.id))).all()
    assert [e.details for e in failed] == [{"step": "password_change"}]


def test_password_change_is_audited_and_ends_other_sessions(app, client, make_user, login, session):
    user = make_user(Role.MEDIATOR)
    login(client, user)
    other_device = app.test_client()
    login(other_device, user)
    assert other_device.get("/compte").status_code == 200

    response = client.post("/compte/mot-de-passe", data={
        "current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"].endswith("/compte")
    page = client.get("/compte").get_data(as_text=True)
    assert "Votre mot de passe a été modifié. Vos autres sessions ont été fermées." in page

    assert other_device.get("/compte").status_code == 302  # signed out
    assert "auth.password_changed" in actions_on(session, user)
    client.post("/deconnexion")
    assert client.post("/connexion", data={"email": user.email, "password": PASSWORD}).status_code == 422
    assert client.post("/connexion", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.usefixtures("ratelimit_backend")
def test_wrong_current_password_counts_towards_the_sign_in_lock(app, client, make_user, login, session):
    user = make_user(Role.MEDIATOR)
    login(client, user)
    for _ in range(app.config["MEDIATION_LOGIN_MAX_FAILURES"] - 1):
        client.post("/compte/mot-de-passe", data={"current_password": "mauvais", "password": NEW_PASSWORD,
                                                  "confirm": NEW_PASSWORD})
    locked = client.post("/compte/mot-de-passe", data={"current_password": "mauvais",
                                                       "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert locked.status_code == 429
    assert "ce compte est bloqué pendant 15 minutes" in locked.get_data(as_text=True)
    # Even the right password is refused while locked, here and on the sign-in page.
    again = client.post("/compte/mot-de-passe", data={"current_password": PASSWORD,
                                                      "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert again.status_code == 429
    assert "auth.locked" in actions_on(session, user)
    other = app.test_client()
    assert other.post("/connexion", data={"email": user.email, "password": PASSWORD}).status_code == 429


# --- recovery codes --------------------------------------------------------------------------

def test_regenerating_recovery_codes_needs_a_current_code(app, client, make_user, login, session):
    user = make_user(Role.MEDIATOR, totp=False)
    old_codes = services.enable_totp(session, user, TOTP_SECRET, pyotp.TOTP(TOTP_SECRET).now())
    session.flush()
    login(client, user)
    assert "Générer de nouveaux codes" in client.get("/compte/codes-de-secours").get_data(as_text=True)

    for wrong, status in (("000000", 422), ("abc", 422), ("", 200)):  # 200: the form's own validators
        response = client.post("/compte/codes-de-secours", data={"code": wrong})
        assert response.status_code == status, wrong
        body = response.get_data(as_text=True)
        assert "Code incorrect" in body or "Saisissez le code" in body
    session.refresh(user)
    assert "auth.recovery_codes_regenerated" not in actions_on(session, user)

    code = next_code()
    response = client.post("/compte/codes-de-secours", data={"code": code})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nouveaux codes de secours" in body and "Les anciens codes ne fonctionnent plus" in body
    new_codes = [c for c in body.split("<code>")[1:]]
    assert len(new_codes) == 10
    new_code = new_codes[0].split("</code>")[0]
    assert "auth.recovery_codes_regenerated" in actions_on(session, user)
    # The same TOTP code cannot be used twice.
    replay = client.post("/compte/codes-de-secours", data={"code": code})
    assert "Code incorrect ou déjà utilisé" in replay.get_data(as_text=True)

    # Old codes no longer sign in; new ones do.
    other = app.test_client()
    other.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert "Code incorrect" in other.post("/connexion/verification",
                                          data={"code": old_codes[0]}).get_data(as_text=True)
    assert other.post("/connexion/verification", data={"code": new_code}).status_code == 302


def test_recovery_codes_page_sends_accounts_without_second_factor_to_enrolment(client, network, login):
    login(client, network.mediator)
    response = client.get("/compte/codes-de-secours")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/compte/double-authentification")
    assert client.post("/compte/codes-de-secours", data={"code": "123456"}).status_code == 302


# --- turning the second factor off ------------------------------------------------------------

def test_optional_second_factor_can_be_turned_off_with_the_password(app, client, make_user, login, session):
    user = make_user(Role.MEDIATOR, totp=True)
    login(client, user)
    other_device = app.test_client()
    login(other_device, user)
    page = client.get("/compte").get_data(as_text=True)
    assert "/compte/double-authentification/desactivation" in page

    wrong = client.post("/compte/double-authentification/desactivation", data={"current_password": "non"})
    assert "Le mot de passe actuel est incorrect." in wrong.get_data(as_text=True)
    session.refresh(user)
    assert user.totp_enabled

    done = client.post("/compte/double-authentification/desactivation", data={"current_password": PASSWORD})
    assert done.status_code == 302
    session.refresh(user)
    assert not user.totp_enabled and user.totp_secret is None and user.recovery_codes == []
    assert "auth.totp_disabled" in actions_on(session, user)
    page = client.get("/compte").get_data(as_text=True)  # still signed in here…
    assert "La double authentification est désactivée." in page and "Non activée" in page
    assert other_device.get("/compte").status_code == 302  # …but not elsewhere
    # Next sign-in asks for no code.
    client.post("/deconnexion")
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/")


def test_compulsory_second_factor_cannot_be_turned_off(client, network, login, session):
    for user in (network.admin, network.coordinator, network.aidant):
        login(client, user)
        response = client.get("/compte/double-authentification/desactivation", follow_redirects=True)
        assert "obligatoire pour votre rôle" in response.get_data(as_text=True)
        client.post("/compte/double-authentification/desactivation", data={"current_password": PASSWORD})
        session.refresh(user)
        assert user.totp_enabled, user.email
        assert "auth.totp_disabled" not in actions_on(session, user)
        client.post("/deconnexion")


def test_disable_totp_service_refuses_compulsory_roles(session, network):
    import pytest

    from mediation.errors import DomainError

    with pytest.raises(DomainError, match="obligatoire pour ce rôle"):
        services.disable_own_totp(session, network.aidant, PASSWORD)
    assert network.aidant.totp_enabled
