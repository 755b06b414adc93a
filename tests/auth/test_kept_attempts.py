"""Failed sign-in attempts survive the rollback of the request that refused them
(mediation.web.keep_despite_error): they feed throttling. Nothing else the request did is saved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mediation.audit.models import AuditEvent
from mediation.auth.models import LoginAttempt, Role
from tests.conftest import PASSWORD
from tests.row_counts import added_rows, row_counts

NEW_PASSWORD = "une nouvelle phrase de passe"
# The failure, counted by the three sign-in limits (account and address, address, account), and its
# « auth.login_failed » record.
COUNTED = {"login_attempts": 3, "audit_events": 1}


def failures(session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt).where(~LoginAttempt.success))


def last_action(session) -> str:
    return session.scalar(sa.select(AuditEvent.action).order_by(AuditEvent.id.desc()).limit(1))


def state(user) -> tuple:
    return (user.password_hash, user.totp_secret, user.totp_last_step, list(user.recovery_codes or []),
            user.last_login_at)


def test_a_wrong_password_on_the_sign_in_page_is_counted_and_nothing_else(client, make_user, session):
    user = make_user(Role.MEDIATOR)
    session.commit()
    before, kept = row_counts(session), state(user)
    response = client.post("/connexion", data={"email": user.email, "password": "mauvais mot de passe"})
    assert response.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect." in response.get_data(as_text=True)
    assert added_rows(session, before) == COUNTED
    assert failures(session) == 3 and last_action(session) == "auth.login_failed"
    session.refresh(user)
    assert state(user) == kept
    assert client.get("/").status_code == 302  # not signed in


def test_a_wrong_code_at_the_second_factor_step_is_counted_and_nothing_else(client, make_user, session):
    user = make_user(Role.MEDIATOR, totp=True)
    response = client.post("/connexion", data={"email": user.email, "password": PASSWORD})
    assert response.headers["Location"].endswith("/connexion/verification")
    session.commit()
    before, kept = row_counts(session), state(user)
    response = client.post("/connexion/verification", data={"code": "000000"})
    assert response.status_code == 422
    assert "Code incorrect ou déjà utilisé." in response.get_data(as_text=True)
    assert added_rows(session, before) == COUNTED
    assert last_action(session) == "auth.login_failed"
    session.refresh(user)
    assert state(user) == kept


@pytest.mark.parametrize(("url", "data"), [
    ("/compte/mot-de-passe", {"current_password": "mauvais", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    ("/compte/codes-de-secours", {"code": "000000"}),
    ("/compte/double-authentification/desactivation", {"current_password": "mauvais"}),
])
def test_a_wrong_password_or_code_on_the_account_pages_is_counted_and_nothing_else(client, make_user, login,
                                                                                   session, url, data):
    user = make_user(Role.MEDIATOR, totp=True)  # second factor optional for mediators: it can be turned off
    login(client, user)
    session.commit()
    before, kept = row_counts(session), state(user)
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert added_rows(session, before) == COUNTED
    assert last_action(session) == "auth.login_failed"
    session.refresh(user)
    assert state(user) == kept


def test_the_failure_that_locks_is_counted_with_its_lock_record(app, client, make_user, session):
    user = make_user(Role.MEDIATOR)
    session.commit()
    for _ in range(app.config["MEDIATION_LOGIN_MAX_FAILURES"] - 1):
        client.post("/connexion", data={"email": user.email, "password": "mauvais"})
    before = row_counts(session)
    response = client.post("/connexion", data={"email": user.email, "password": "mauvais"})
    assert response.status_code == 429
    assert added_rows(session, before) == {"login_attempts": 3, "audit_events": 2}  # failed, then locked
    assert last_action(session) == "auth.locked"
