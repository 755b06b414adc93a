"""Sign-in throttling edge cases, and no personal data in the logs. Every test runs on both
storages of the counters: the database, then Redis (see ``ratelimit_backend``)."""

import html
import logging
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from flask import current_app

from mediation.audit.models import AuditEvent
from mediation.auth.models import LoginAttempt, Role
from tests.conftest import PASSWORD, TOTP_SECRET, move_ratelimit_entries_back, ratelimit_redis_entries

LOCKED = "ce compte est bloqué pendant"
pytestmark = pytest.mark.usefixtures("ratelimit_backend")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def fail(client, user, times: int = 1):
    for _ in range(times):
        response = client.post("/connexion", data={"email": user.email, "password": "mauvais mot de passe"})
    return response


def sign_in(client, user):
    return client.post("/connexion", data={"email": user.email, "password": PASSWORD})


def move_attempts_back(session, **delta) -> None:
    """Every sign-in attempt recorded so far happened ``delta`` earlier (time moves on)."""
    for attempt in session.scalars(sa.select(LoginAttempt)):
        attempt.at -= timedelta(**delta)
    session.flush()
    move_ratelimit_entries_back(current_app, timedelta(**delta).total_seconds())


def recorded(session) -> int:
    """How many sign-in tries are kept, whichever the storage."""
    in_redis = sum(len(entries) for entries in ratelimit_redis_entries(current_app).values())
    return session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) + in_redis


def test_lock_lasts_lock_minutes_from_the_last_failure(app, client, make_user, session):
    assert (app.config["MEDIATION_LOGIN_MAX_FAILURES"], app.config["MEDIATION_LOGIN_LOCK_MINUTES"]) == (5, 15)
    user = make_user(Role.MEDIATOR)
    fail(client, user)
    move_attempts_back(session, minutes=9)
    locking = fail(client, user, 4)  # five failures within 9 minutes
    assert locking.status_code == 429 and f"{LOCKED} 15 minutes" in text(locking)
    # 11 minutes after the last failure (the first one is now 20 minutes old): still locked, 4 left.
    move_attempts_back(session, minutes=11)
    response = sign_in(client, user)
    assert response.status_code == 429
    assert f"{LOCKED} 4 minutes" in text(response)
    # 15 minutes after the last failure: open again.
    move_attempts_back(session, minutes=4, seconds=1)
    assert sign_in(client, user).status_code == 302


def test_attempts_while_locked_do_not_extend_the_lock(client, make_user, session):
    user = make_user(Role.MEDIATOR)
    fail(client, user, 5)
    before = recorded(session)
    assert before == 3 * 5  # per (account, address), per address, per account
    for _ in range(3):
        assert fail(client, user).status_code == 429
    assert recorded(session) == before
    move_attempts_back(session, minutes=15, seconds=1)
    assert sign_in(client, user).status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_lock(client, make_user, session):
    user = make_user(Role.MEDIATOR)
    for _ in range(6):
        assert fail(client, user).status_code == 422
        move_attempts_back(session, minutes=4)  # one failure every 4 minutes: ≤ 4 per 15 minutes
    assert sign_in(client, user).status_code == 302


def test_successful_sign_in_resets_the_count(client, make_user, session):
    user = make_user(Role.MEDIATOR)
    fail(client, user, 4)
    assert sign_in(client, user).status_code == 302
    client.post("/deconnexion")
    response = fail(client, user, 4)
    assert response.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect." in text(response)
    assert fail(client, user).status_code == 429  # the fifth since the success


def test_failures_at_the_second_factor_step_count(client, make_user, session):
    user = make_user(Role.MEDIATOR, totp=True)
    fail(client, user, 2)
    assert sign_in(client, user).headers["Location"].endswith("/connexion/verification")
    for _ in range(2):
        response = client.post("/connexion/verification", data={"code": "000000"})
        assert "Code incorrect ou déjà utilisé." in text(response)
    locking = client.post("/connexion/verification", data={"code": "000000"})  # fifth failure
    assert locking.status_code == 429 and LOCKED in text(locking)
    # Locked: even the right code is refused, and nobody is signed in.
    user.totp_last_step = None
    session.flush()
    right = client.post("/connexion/verification", data={"code": pyotp.TOTP(TOTP_SECRET).now()})
    assert right.status_code == 429 and LOCKED in text(right)
    assert client.get("/compte").status_code == 302
    assert sign_in(client, user).status_code == 429
    actions = session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))).all()
    assert actions.count("auth.login_failed") == 5 and "auth.locked" in actions


def test_a_password_reset_lifts_the_lock(client, make_user, outbox, session):
    user = make_user(Role.MEDIATOR)
    fail(client, user, 5)
    assert sign_in(client, user).status_code == 429
    client.post("/mot-de-passe-oublie", data={"email": user.email})
    link = next(line for line in outbox[0].get_content().splitlines() if line.startswith("https://"))
    new = "une phrase toute neuve et longue"
    client.post(link.removeprefix("https://mediation.example.org"), data={"password": new, "confirm": new})
    assert client.post("/connexion", data={"email": user.email, "password": new}).status_code == 302


def test_no_email_address_or_name_in_the_logs(app, client, make_user, outbox, session, caplog):
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="mediation")
    user = make_user(Role.MEDIATOR, email="camille.confidentielle@exemple-prive.test",
                     first_name="Ysaline", last_name="Quatremare", totp=True)
    # A failed sign-in, a failed second factor, a successful sign-in, a password reset.
    fail(client, user)
    client.post("/connexion", data={"email": "inconnue.secrete@exemple-prive.test", "password": "x" * 12})
    sign_in(client, user)
    client.post("/connexion/verification", data={"code": "000000"})
    user.totp_last_step = None
    session.flush()
    assert client.post("/connexion/verification",
                       data={"code": pyotp.TOTP(TOTP_SECRET).now()}).status_code == 302
    client.post("/deconnexion")
    client.post("/mot-de-passe-oublie", data={"email": user.email})
    link = next(line for line in outbox[0].get_content().splitlines() if line.startswith("https://"))
    new = "une phrase toute neuve et longue"
    client.post(link.removeprefix("https://mediation.example.org"), data={"password": new, "confirm": new})

    logged = caplog.text
    assert f"user {user.id}" in logged  # the events are logged, by account id
    for secret in ("camille.confidentielle", "exemple-prive", "inconnue.secrete", "Ysaline", "Quatremare"):
        assert secret.lower() not in logged.lower(), secret
