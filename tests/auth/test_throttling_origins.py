"""Nobody can lock someone else's account: sign-in is throttled per (account, address) and per
address, and per account only for devices where the account never signed in (« known device »
cookie). Behind a trusted proxy (MEDIATION_TRUSTED_PROXIES=1) the address comes from
X-Forwarded-For. Every test runs on both storages of the counters (database, then Redis)."""

import html
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from mediation import configure_proxies
from mediation.auth import devices
from mediation.auth.models import LoginAttempt, Role
from tests.conftest import PASSWORD, move_ratelimit_entries_back

LOCKED = "ce compte est bloqué pendant"
WRONG = "Adresse e-mail ou mot de passe incorrect."
pytestmark = pytest.mark.usefixtures("ratelimit_backend")

OWNER_ADDRESS = "198.51.100.7"


@pytest.fixture(autouse=True)
def behind_a_proxy(app, monkeypatch):
    """MEDIATION_TRUSTED_PROXIES=1, as create_app sets it up (restored after the test)."""
    monkeypatch.setitem(app.config, "MEDIATION_TRUSTED_PROXIES", 1)
    monkeypatch.setattr(app, "wsgi_app", app.wsgi_app)
    configure_proxies(app)


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def attempt(client, email: str, address: str, password: str = "mauvais mot de passe"):
    return client.post("/connexion", data={"email": email, "password": password},
                       headers={"X-Forwarded-For": address}, environ_base={"REMOTE_ADDR": "10.0.0.1"})


def known_device(app, user):
    """The owner's usual browser: signed in once from OWNER_ADDRESS, then signed out."""
    browser = app.test_client()
    assert attempt(browser, user.email, OWNER_ADDRESS, PASSWORD).status_code == 302
    cookie = browser.get_cookie(devices.COOKIE)
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"
    assert user.email not in cookie.value
    browser.post("/deconnexion", headers={"X-Forwarded-For": OWNER_ADDRESS})
    return browser


def move_attempts_back(session, **delta) -> None:
    for row in session.scalars(sa.select(LoginAttempt)):
        row.at -= timedelta(**delta)
    session.flush()
    move_ratelimit_entries_back(current_app, timedelta(**delta).total_seconds())


def test_thresholds(app):
    cfg = app.config
    assert (cfg["MEDIATION_LOGIN_MAX_FAILURES"], cfg["MEDIATION_LOGIN_ADDRESS_MAX_FAILURES"], cfg["MEDIATION_LOGIN_ACCOUNT_MAX_FAILURES"],
            cfg["MEDIATION_LOGIN_LOCK_MINUTES"]) == (5, 30, 20, 15)


def test_an_attacker_elsewhere_cannot_lock_the_owner_out_of_their_known_device(app, make_user):
    owner = make_user(Role.MEDIATOR)
    browser = known_device(app, owner)
    attacker = app.test_client()
    # 40 wrong passwords from 10 addresses: twice the per-account limit.
    for n in range(10):
        for _ in range(4):
            attempt(attacker, owner.email, f"203.0.113.{n}")
    # Another browser is refused, even with the right password (the account is under attack)...
    stranger = attempt(app.test_client(), owner.email, "192.0.2.50", PASSWORD)
    assert stranger.status_code == 429 and f"{LOCKED} 15 minutes" in text(stranger)
    # ...but the owner signs in on their usual device.
    assert attempt(browser, owner.email, OWNER_ADDRESS, PASSWORD).status_code == 302
    assert browser.get("/compte", headers={"X-Forwarded-For": OWNER_ADDRESS}).status_code == 200


def test_the_known_device_still_counts_its_own_failures(app, make_user):
    owner = make_user(Role.MEDIATOR)
    browser = known_device(app, owner)
    for _ in range(4):
        assert attempt(browser, owner.email, OWNER_ADDRESS).status_code == 422
    locking = attempt(browser, owner.email, OWNER_ADDRESS)  # 5 from this (account, address)
    assert locking.status_code == 429 and LOCKED in text(locking)
    assert attempt(browser, owner.email, OWNER_ADDRESS, PASSWORD).status_code == 429


def test_an_attacker_is_throttled_per_account_and_address(app, make_user):
    owner = make_user(Role.MEDIATOR)
    attacker = app.test_client()
    for _ in range(4):
        assert WRONG in text(attempt(attacker, owner.email, "203.0.113.9"))
    locking = attempt(attacker, owner.email, "203.0.113.9")
    assert locking.status_code == 429 and f"{LOCKED} 15 minutes" in text(locking)
    # The owner, from their own address and a browser never used before, is not locked.
    assert attempt(app.test_client(), owner.email, OWNER_ADDRESS, PASSWORD).status_code == 302


def test_an_attacker_trying_many_accounts_is_throttled_per_address(app, make_user, session):
    attacker = app.test_client()
    victims = [make_user(Role.MEDIATOR) for _ in range(31)]
    for victim in victims[:29]:  # one guess per account: no per-account limit is reached
        assert attempt(attacker, victim.email, "203.0.113.66").status_code == 422
    locking = attempt(attacker, victims[29].email, "203.0.113.66")  # the 30th failure from the address
    assert locking.status_code == 429 and LOCKED in text(locking)
    refused = attempt(attacker, victims[30].email, "203.0.113.66", PASSWORD)
    assert refused.status_code == 429 and LOCKED in text(refused)
    # Other addresses are not concerned, the victims sign in normally.
    assert attempt(app.test_client(), victims[30].email, "203.0.113.67", PASSWORD).status_code == 302
    assert attempt(app.test_client(), victims[0].email, OWNER_ADDRESS, PASSWORD).status_code == 302
    # 15 minutes after its last failure, the address may try again.
    move_attempts_back(session, minutes=15, seconds=1)
    assert attempt(attacker, victims[30].email, "203.0.113.66").status_code == 422


def test_a_distributed_attack_is_slowed_per_account(app, make_user, session):
    owner = make_user(Role.MEDIATOR)
    attacker = app.test_client()
    for n in range(19):  # one guess from each of 19 addresses: no address is throttled
        assert attempt(attacker, owner.email, f"203.0.113.{n}").status_code == 422
    locking = attempt(attacker, owner.email, "203.0.113.19")  # the 20th failure on the account
    assert locking.status_code == 429 and LOCKED in text(locking)
    assert attempt(attacker, owner.email, "203.0.113.20", PASSWORD).status_code == 429  # even the right one
    move_attempts_back(session, minutes=15, seconds=1)
    assert attempt(app.test_client(), owner.email, "203.0.113.21", PASSWORD).status_code == 302


@pytest.mark.parametrize("cookie", ["forgé", "account-of-someone-else"])
def test_a_forged_or_foreign_device_cookie_gives_no_exemption(app, make_user, cookie):
    owner = make_user(Role.MEDIATOR)
    other = make_user(Role.MEDIATOR)
    browser = known_device(app, other) if cookie != "forgé" else app.test_client()
    if cookie == "forgé":
        browser.set_cookie(devices.COOKIE, "W10.forge.signature")
    for n in range(20):
        attempt(app.test_client(), owner.email, f"203.0.113.{n}")
    assert attempt(browser, owner.email, OWNER_ADDRESS, PASSWORD).status_code == 429
