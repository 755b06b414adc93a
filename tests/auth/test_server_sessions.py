"""Sessions kept on the server: a copy of a session cookie (stolen, or left in another browser)
stops working as soon as the session is ended — sign-out, « Se déconnecter de tous les
appareils », password change or reset, role change, end of a staff membership, deactivation."""

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation.auth.models import ApiToken, Role, UserSession
from mediation.auth.services import create_api_token
from mediation.cases import services as case_services
from mediation.directory import staff
from mediation.types import local_today
from tests.conftest import PASSWORD

COOKIE = "mediation_session"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def copy_cookie(source, app):
    """Another browser holding a copy of ``source``'s session cookie (what a thief replays)."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, source.get_cookie(COOKIE).value)
    return thief


@pytest.fixture
def case(session, network):
    person = case_services.create_beneficiary(
        session, network.mediator, network.structure_a.id,
        case_services.BeneficiaryInput(first_name="Jeanne", last_name="Copie"))
    found = case_services.live_case(session, person.id)
    return found or case_services.open_case_for(session, network.mediator, person,
                                                structure_id=network.structure_a.id)


def pages(case):
    return [f"/dossiers/{case.id}", f"/echanges/beneficiaires/{case.beneficiary_id}/donnees", "/compte"]


def assert_refused(client, case) -> None:
    for url in pages(case):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/connexion"), url
    # The API with the cookie (and no token): 401, nothing read.
    api = client.get(f"/api/v1/beneficiaires/{case.beneficiary_id}")
    assert api.status_code == 401


def test_a_copied_cookie_works_until_sign_out_then_never(app, client, login, network, case, session):
    login(client, network.mediator)
    thief = copy_cookie(client, app)
    for url in pages(case):
        assert thief.get(url).status_code == 200, url  # the copy is as good as the original...
    client.post("/deconnexion")
    assert_refused(thief, case)  # ...until the owner signs out
    first = thief.get(f"/dossiers/{case.id}", follow_redirects=True)
    assert first.request.path == "/connexion"
    assert session.scalar(sa.select(UserSession.revoked_reason)) == "logout"


def test_password_change_ends_the_other_copies_but_not_the_current_session(app, client, login, network, case):
    login(client, network.mediator)
    other_device = app.test_client()
    login(other_device, network.mediator)
    thief = copy_cookie(client, app)
    new = "une autre phrase de passe"
    client.post("/compte/mot-de-passe", data={"current_password": PASSWORD, "password": new, "confirm": new})
    assert client.get(f"/dossiers/{case.id}").status_code == 200  # the device that changed it
    assert_refused(other_device, case)
    # The copy of the changing device's cookie is still the same session as the device itself:
    # it ends when that session ends.
    client.post("/deconnexion")
    assert_refused(thief, case)


def test_password_reset_ends_every_session(app, client, login, network, case, outbox):
    login(client, network.mediator)
    thief = copy_cookie(client, app)
    app.test_client().post("/mot-de-passe-oublie", data={"email": network.mediator.email})
    link = next(line for line in outbox[0].get_content().splitlines() if line.startswith("https://"))
    new = "une phrase toute neuve et longue"
    app.test_client().post(link.removeprefix("https://mediation.example.org"), data={"password": new, "confirm": new})
    assert_refused(client, case)
    assert_refused(thief, case)


def test_deactivation_ends_every_session(app, client, login, network, case, session):
    login(client, network.mediator)
    thief = copy_cookie(client, app)
    admin = app.test_client()
    login(admin, network.admin)
    assert admin.post(f"/annuaire/comptes/{network.mediator.id}/desactiver").status_code == 302
    session.refresh(network.mediator)
    assert not network.mediator.is_active_account
    # Reactivated at once: the old sessions stay ended (a new sign-in is needed).
    staff.reactivate_user(session, network.admin, network.mediator)
    assert_refused(client, case)
    assert_refused(thief, case)


def test_role_change_ends_every_session(app, client, login, network, session):
    login(client, network.mediator_far)
    thief = copy_cookie(client, app)
    assert thief.get("/compte").status_code == 200
    staff.change_role(session, network.admin, network.mediator_far, Role.FUNDER)
    for browser in (client, thief):
        response = browser.get("/compte")
        assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")


def test_end_of_a_staff_membership_ends_every_session(app, client, login, network, case, session):
    login(client, network.mediator)
    thief = copy_cookie(client, app)
    membership = network.mediator.memberships[0]
    staff.end_membership(session, network.admin, membership, local_today())
    assert_refused(client, case)
    assert_refused(thief, case)


def test_sign_out_from_every_device(app, client, login, network, case, session):
    login(client, network.mediator)
    phone = app.test_client()
    login(phone, network.mediator)
    thief = copy_cookie(phone, app)
    raw = create_api_token(session, network.mediator, "Tableur", ["beneficiaries:read"])[1]
    account = text(client.get("/compte"))
    assert "Se déconnecter de tous les appareils" in account
    response = client.post("/compte/deconnexion-partout")
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    assert "Vous êtes déconnecté·e de tous vos appareils." in text(client.get("/connexion"))
    for browser in (client, phone, thief):
        assert_refused(browser, case)
    closed = text(phone.get("/compte", follow_redirects=True))
    assert "Votre session a été fermée" in closed
    assert set(session.scalars(sa.select(UserSession.revoked_reason))) == {"all_devices"}
    # API tokens are not concerned.
    api = client.get(f"/api/v1/beneficiaires/{case.beneficiary_id}", headers={"Authorization": f"Bearer {raw}"})
    assert api.status_code == 200
    assert session.scalar(sa.select(ApiToken.revoked_at)) is None
    # Signing in again works.
    login(client, network.mediator)
    assert client.get(f"/dossiers/{case.id}").status_code == 200


def test_sign_out_of_one_device_leaves_the_others(app, client, login, network, case):
    login(client, network.mediator)
    phone = app.test_client()
    login(phone, network.mediator)
    client.post("/deconnexion")
    assert phone.get(f"/dossiers/{case.id}").status_code == 200


def test_a_forged_session_secret_is_refused(app, client, login, network, case):
    login(client, network.mediator)
    with client.session_transaction() as s:
        s["sid"] = "deviné"
    assert_refused(client, case)


def test_ended_sessions_are_deleted_a_week_later_at_the_next_sign_in(app, client, login, network, session):
    login(client, network.mediator)
    client.post("/deconnexion")
    login(client, network.mediator)
    client.post("/deconnexion")
    rows = session.scalars(sa.select(UserSession).order_by(UserSession.id)).all()
    assert len(rows) == 2
    old_id, recent_id = rows[0].id, rows[1].id
    rows[0].revoked_at -= timedelta(days=8)
    session.flush()
    login(client, network.mediator)
    kept = set(session.scalars(sa.select(UserSession.id)))
    assert old_id not in kept and recent_id in kept and len(kept) == 2  # the old one, gone


def test_a_request_costs_one_session_lookup_and_no_write(app, client, login, network, session):
    """Per request: one read of the session row (with its user); no write within the minute."""
    from sqlalchemy import event

    from mediation.extensions import db

    login(client, network.mediator)
    statements = []

    def seen(conn, cursor, statement, *args):
        if "user_sessions" in statement:
            statements.append(statement.split()[0].upper())

    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert client.get("/compte").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert statements == ["SELECT"]
