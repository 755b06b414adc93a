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
    stored = list(ratelimit_redis_entries(app)) + list(session.scalars(sa.select(LoginAttempt.key)))
    assert len(stored) == 1
    expected = ratelimit.key("login", user.email)
    assert stored[0].endswith(expected) and len(expected) == 64
    assert hashlib.sha256(user.email.encode()).hexdigest() not in stored[0]  # not a plain digest
    assert "camille" not in stored[0] and "exemple-prive" not in stored[0]


def test_the_redis_storage_writes_no_row(app, client, make_user, session, ratelimit_backend):
    user = make_user(Role.MEDIATOR)
    for _ in range(5):
        fail(client, user.email)
    rows = session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt))
    assert rows == (0 if ratelimit_backend == "redis" else 5)
    if ratelimit_backend == "redis":
        (name, entries), = ratelimit_redis_entries(app).items()
        assert name.startswith(app.config["RATELIMIT_REDIS_PREFIX"] + "login:") and len(entries) == 5


@on_redis
def test_two_app_instances_share_the_counters(app, client, session, ratelimit_backend):
    """Two app servers (two create_app with the same REDIS_URL): four failures on one and the
    fifth on the other lock the account on both."""
    keys = ("TESTING", "SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "SECRET_KEY", "MEDIATION_PUBLIC_BASE_URL",
            "SESSION_COOKIE_SECURE", "OUTBOX_DIR", "MEDIATION_ENV", "REDIS_URL", "RATELIMIT_REDIS_PREFIX",
            "JOBS_BACKEND")
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
    monkeypatch.setitem(app.config, "JOBS_BACKEND", app.config.get("JOBS_BACKEND") or "thread")
    app.extensions.pop("ratelimit", None)
    caplog.set_level(logging.ERROR, logger="mediation.ratelimit")
    user = make_user(Role.MEDIATOR, email="camille.secrete@exemple-prive.test")
    try:
        for _ in range(4):
            assert fail(client, user.email).status_code == 422
        locking = fail(client, user.email)
        assert locking.status_code == 429 and LOCKED in locking.get_data(as_text=True)
        assert client.post("/connexion", data={"email": user.email, "password": "x" * 12}).status_code == 429
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 5
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
            "SESSION_COOKIE_SECURE", "OUTBOX_DIR", "MEDIATION_ENV")
    behind = create_app({**{key: app.config[key] for key in keys}, "TRUSTED_PROXIES": 1})
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
