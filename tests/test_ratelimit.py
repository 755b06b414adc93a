"""The shared rate-limit counters (mediation.ratelimit): keyed hashes only, the Redis storage shared
by two app instances and atomic under concurrent failures, and the fallback to the database when
Redis is configured but unreachable (sign-in stays throttled: never an unlimited number of
guesses)."""

from __future__ import annotations

import hashlib
import logging
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from mediation import create_app, ratelimit
from mediation.auth.models import LoginAttempt, Role
from tests.conftest import ratelimit_redis_entries

LOCKED = "ce compte est bloqué pendant 15 minutes"
on_redis = pytest.mark.parametrize("ratelimit_backend", ["redis"], indirect=True)


def fail(client, email: str):
    return client.post("/connexion", data={"email": email, "password": "mauvais mot de passe"})


@pytest.mark.usefixtures("ratelimit_backend")
def test_keys_are_keyed_hashes_of_the_email_never_the_email(app, client, make_user, session):
    user = make_user(Role.MEDIATOR, email="camille.secrete@exemple-prive.test")
    fail(client, user.email.upper())
    stored = sorted(list(ratelimit_redis_entries(app)) + list(session.scalars(sa.select(LoginAttempt.key))))
    # One failure, three counters: per (account, address), per address, per account.
    expected = [ratelimit.key("login", f"{user.email}\n127.0.0.1"), ratelimit.key("login-address", "127.0.0.1"),
                ratelimit.key("login-account", user.email)]
    assert len(stored) == 3 and all(len(key) == 64 for key in expected)
    assert sorted(next(key for key in expected if name.endswith(key)) for name in stored) == sorted(expected)
    for name in stored:
        assert hashlib.sha256(user.email.encode()).hexdigest() not in name  # not a plain digest
        assert "camille" not in name and "exemple-prive" not in name and "127.0.0.1" not in name


def test_the_redis_storage_writes_no_row(app, client, make_user, session, ratelimit_backend):
    user = make_user(Role.MEDIATOR)
    for _ in range(5):
        fail(client, user.email)
    rows = session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt))
    assert rows == (0 if ratelimit_backend == "redis" else 3 * 5)  # three counters
    if ratelimit_backend == "redis":
        sets = ratelimit_redis_entries(app)
        prefix = app.config["MEDIATION_RATELIMIT_REDIS_PREFIX"]
        assert sorted(name[len(prefix):].split(":")[0] for name in sets) == ["login", "login-account",
                                                                             "login-address"]
        assert all(len(entries) == 5 for entries in sets.values())


@on_redis
def test_two_app_instances_share_the_counters(app, client, session, ratelimit_backend):
    """Two app servers (two create_app with the same REDIS_URL): four failures on one and the
    fifth on the other lock the account on both."""
    keys = ("TESTING", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "SECRET_KEY", "MEDIATION_PUBLIC_BASE_URL",
            "SESSION_COOKIE_SECURE", "MEDIATION_OUTBOX_DIR", "MEDIATION_ENV", "REDIS_URL", "MEDIATION_RATELIMIT_REDIS_PREFIX",
            "MEDIATION_JOBS_BACKEND")
    other = create_app({key: app.config[key] for key in keys})
    try:
        other_client = other.test_client()
        email = "quelquun@test.example"
        for _ in range(4):
            assert fail(client, email).status_code == 422
        locking = fail(other_client, email)
        assert locking.status_code == 429 and LOCKED in locking.get_data(as_text=True)
        assert fail(client, email).status_code == 429
    finally:
        with other.app_context():
            from mediation.extensions import db

            db.engine.dispose()


@on_redis
def test_concurrent_failures_are_all_counted(app, session, ratelimit_backend):
    """Eight failures recorded at once from eight threads: none is lost (MULTI/EXEC on Redis)."""
    limit = ratelimit.Limit("test", 5, timedelta(minutes=15), LoginAttempt)
    with app.app_context():
        key = ratelimit.key("test", "concurrence")
    errors = []

    def one():
        try:
            with app.app_context():
                ratelimit.record_failure(None, limit, key)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (entries,) = ratelimit_redis_entries(app).values()
    assert len(entries) == 8
    assert ratelimit.lock_remaining(None, limit, key) > timedelta(minutes=14)


def test_redis_down_falls_back_to_the_database_and_still_locks(app, client, make_user, session, monkeypatch,
                                                                caplog):
    """Choice: with REDIS_URL set but Redis unreachable, the counters go to the database shared by
    every app server (sign-in stays available and throttled) and Redis is retried 30 s later."""
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    monkeypatch.setitem(app.config, "MEDIATION_JOBS_BACKEND", app.config.get("MEDIATION_JOBS_BACKEND") or "thread")
    app.extensions.pop("ratelimit", None)
    caplog.set_level(logging.ERROR, logger="mediation.ratelimit")
    user = make_user(Role.MEDIATOR, email="camille.secrete@exemple-prive.test")
    try:
        for _ in range(4):
            assert fail(client, user.email).status_code == 422
        locking = fail(client, user.email)
        assert locking.status_code == 429 and LOCKED in locking.get_data(as_text=True)
        assert client.post("/connexion", data={"email": user.email, "password": "x" * 12}).status_code == 429
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 3 * 5  # three counters
        assert "Redis unavailable" in caplog.text and "camille" not in caplog.text
        assert len([r for r in caplog.records if "Redis unavailable" in r.getMessage()]) == 1  # not retried at once
    finally:
        app.extensions.pop("ratelimit", None)


@on_redis
def test_redis_is_tried_again_after_the_pause(app, session, monkeypatch, ratelimit_backend):
    limit = ratelimit.Limit("test", 5, timedelta(minutes=15), LoginAttempt)
    key = ratelimit.key("test", "retour")
    good = app.config["REDIS_URL"]
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    ratelimit.record_failure(session, limit, key)  # falls back to the database
    app.config["REDIS_URL"] = good
    ratelimit.record_failure(session, limit, key)  # still the database during the pause
    assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 2
    app.extensions["ratelimit"].pop("down_until")  # the pause is over
    ratelimit.record_failure(session, limit, key)
    assert len(next(iter(ratelimit_redis_entries(app).values()))) == 1


def _ask_from(client, forwarded_for: str):
    return client.post("/carnet/code", data={"contact": "personne@example.org"},
                       headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": "10.0.0.1"})


def test_behind_a_trusted_proxy_each_client_address_has_its_own_limit(app, session):
    """MEDIATION_TRUSTED_PROXIES=1: the address comes from X-Forwarded-For (set by the proxy);
    by default the header is ignored (it could be forged) and the proxy's address counts."""
    keys = ("TESTING", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "SECRET_KEY", "MEDIATION_PUBLIC_BASE_URL",
            "SESSION_COOKIE_SECURE", "MEDIATION_OUTBOX_DIR", "MEDIATION_ENV")
    behind = create_app({**{key: app.config[key] for key in keys}, "MEDIATION_TRUSTED_PROXIES": 1})
    try:
        client = behind.test_client()
        for n in range(20):
            assert client.post("/carnet/code", data={"contact": f"p{n}@example.org"},
                               headers={"X-Forwarded-For": "203.0.113.5"},
                               environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 302
        assert _ask_from(client, "203.0.113.5").status_code == 429
        assert _ask_from(client, "203.0.113.6").status_code == 302  # another client behind the proxy
    finally:
        with behind.app_context():
            from mediation.extensions import db

            db.engine.dispose()
    # Not trusted (the default): the forged header does not give a fresh counter.
    direct = app.test_client()
    for n in range(20):
        direct.post("/carnet/code", data={"contact": f"q{n}@example.org"},
                    headers={"X-Forwarded-For": f"198.51.100.{n}"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    refused = direct.post("/carnet/code", data={"contact": "r@example.org"},
                          headers={"X-Forwarded-For": "198.51.100.99"}, environ_base={"REMOTE_ADDR": "10.0.0.2"})
    assert refused.status_code == 429


@pytest.mark.usefixtures("ratelimit_backend")
def test_a_shared_key_is_forgiven_once_per_window_per_owner(app, session):
    """A client address (shared key) is cleared by a card's (owner's) success once per window, never
    again by the same card; a key's own success (an account's right password) always clears it."""
    limit = ratelimit.Limit("test", 3, timedelta(minutes=15), LoginAttempt)
    client_key, card, other_card = (ratelimit.key("test", v) for v in ("client", "card", "autre carte"))

    def fail_twice(key):
        for _ in range(2):
            assert ratelimit.record_failure(session, limit, key) is None

    fail_twice(client_key)
    ratelimit.record_success(session, limit, client_key, owner=card)
    fail_twice(client_key)  # forgiven once
    ratelimit.record_success(session, limit, client_key, owner=card)
    assert ratelimit.record_failure(session, limit, client_key) is not None  # not twice
    assert ratelimit.lock_remaining(session, limit, client_key) is not None
    ratelimit.record_success(session, limit, client_key, owner=other_card)  # another card: one forgiveness
    fail_twice(client_key)
    account = ratelimit.key("test", "compte")
    for _ in range(3):
        fail_twice(account)
        ratelimit.record_success(session, limit, account)  # its own: always
