"""Rate limits shared by every app server: sign-in throttling (auth), wallet codes (badges).

One rule, two storages behind the same three functions (:func:`lock_remaining`,
:func:`record_failure`, :func:`record_success`).

Rule: ``limit.max_failures`` failures within ``limit.window`` of each other, with no success since,
lock the key for ``limit.window`` counted from the last failure. Callers check the lock before
acting and record nothing while it holds, so refused tries do not extend it. A limit on requests
(one-time codes asked for) records each request as a "failure" and never a success.

Successes never open a way around the count:

- a success clears the failures of the key it *owns* (the account whose password was right, the
  contact whose one-time code was right): :func:`record_success` without ``owner``;
- a key shared by other targets (a client address trying cards or contacts) is cleared by a
  success of one of those targets (``owner``: the card, the contact) at most once per window for
  that owner, whoever the client: alternating wrong codes with one's own valid card therefore
  gives at most ``2 × (max_failures − 1) + 1`` tries per window, not an unlimited number;
- a key counting a whole target space (:func:`space_key`: every wrong card code, from every
  client address) is never cleared by a success; its limit has ``alert``: the failure that locks
  it logs a WARNING (the limit's name and figures only, never a code, a key or an address).

Storage, chosen per call:

- the database (default, embedded): one row per try in the domain's own table (``login_attempts``,
  ``wallet_attempts``: a key column, ``at``, ``success``), written in the request's transaction
  (callers commit it even when they refuse the action). Every app server using the same database
  sees the same counters.
- Redis, when ``REDIS_URL`` is set: one sorted set per key, ``<MEDIATION_RATELIMIT_REDIS_PREFIX><limit>:<key>``,
  whose scores are the failures' times (UTC epoch seconds from the app servers' clocks). A failure
  is ZADD + trimming of what is older than two windows + PEXPIRE, and the read of the window, in
  one MULTI/EXEC transaction; a success deletes the set. Written at once, outside the database
  transaction: another app server sees it on its next request.

Keys never hold personal data in clear: :func:`key` is an HMAC-SHA256 of the e-mail, contact or
client address with ``SECRET_KEY`` (changing the secret forgets the counters).

Redis configured but unreachable (or refusing writes): the call falls back to the database
storage, and Redis is not tried again for ``REDIS_RETRY_SECONDS`` (an error is logged). Sign-in
stays available and still throttled, by the database every app server shares; the price is that
the counts kept in one storage are not seen by the other when Redis goes down or comes back (at
most ``max_failures`` extra tries per key at each switch), never an unlimited number of
guesses. Failing open is never an option.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from mediation.types import utcnow

log = logging.getLogger("mediation.ratelimit")

REDIS_PREFIX = "mediation:rl:"
REDIS_TIMEOUT_SECONDS = 0.5  # connect and read: a sign-in never waits long on a dead Redis
REDIS_RETRY_SECONDS = 30  # after an error, the database is used this long before trying Redis again


@dataclass(frozen=True)
class Limit:
    """A rule (``max_failures`` within ``window``) and the table holding its tries in the database.

    ``name`` is part of the Redis keys; ``model`` has a ``key_column`` (64 characters), ``at`` and
    ``success``. Limits sharing a table must derive their keys with different ``kind``."""

    name: str
    max_failures: int
    window: timedelta
    model: type
    key_column: str = "key"
    alert: bool = False  # log a WARNING when a failure locks it (a limit over a whole target space)


def key(kind: str, value: str) -> str:
    """The stored key for ``value`` (an e-mail, a contact, a client address): HMAC-SHA256 with the
    app's secret, 64 hexadecimal characters, so that neither the database nor Redis holds it in
    clear and it cannot be found again from a list of addresses."""
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def space_key(name: str) -> str:
    """The key counting every failure against one target space (say, all the wallet cards' codes),
    from every client: a limit on it caps the guesses of an attacker who changes addresses."""
    return key("space", name)


def lock_remaining(session: Session, limit: Limit, key_hash: str) -> timedelta | None:
    """How long ``key_hash`` stays locked under ``limit`` (at least one second), or None."""
    now = utcnow()
    return _remaining(_failures(session, limit, key_hash, now, add=False), limit, now)


def record_failure(session: Session, limit: Limit, key_hash: str) -> timedelta | None:
    """Record a failure (or a request) now; returns how long the key is locked after it, or None."""
    now = utcnow()
    remaining = _remaining(_failures(session, limit, key_hash, now, add=True), limit, now)
    if remaining is not None and limit.alert:
        log.warning("rate limit %s: %s failures within %s min from all clients, locked for %s s",
                    limit.name, limit.max_failures, int(limit.window.total_seconds() // 60),
                    int(remaining.total_seconds()))
    return remaining


def record_success(session: Session, limit: Limit, key_hash: str, *, owner: str | None = None) -> None:
    """A success: the failures of ``key_hash`` before it no longer count.

    ``owner`` (a keyed hash, see :func:`key`): what succeeded when it is not ``key_hash`` itself,
    e.g. the card whose code was right while ``key_hash`` is the client address. The key is then
    cleared only if this owner has not cleared ``limit`` within the last window (from any key):
    a valid card of one's own cannot be used to reset the count again and again."""
    if owner is not None and owner != key_hash:
        if not _failures(session, limit, key_hash, utcnow(), add=False):
            return  # nothing to forgive: the owner keeps its one forgiveness
        credit = Limit(f"{limit.name}-credit", 1, limit.window, limit.model, limit.key_column)
        credit_key = key(f"credit:{limit.name}", owner)
        if lock_remaining(session, credit, credit_key) is not None:
            return
        record_failure(session, credit, credit_key)
    _clear(session, limit, key_hash)


def _clear(session: Session, limit: Limit, key_hash: str) -> None:
    client = _redis()
    if client is not None:
        try:
            client.delete(_redis_name(limit, key_hash))
            return
        except _redis_errors() as error:
            _redis_failed(error)
    session.add(limit.model(**{limit.key_column: key_hash}, at=utcnow(), success=True))
    session.flush()


def _remaining(failures: list[datetime], limit: Limit, now: datetime) -> timedelta | None:
    """``failures``: the failures since the last success and within two windows, newest first."""
    if not failures or failures[0] + limit.window <= now:
        return None
    newest = failures[0]
    in_burst = [at for at in failures if at >= newest - limit.window]
    if len(in_burst) < limit.max_failures:
        return None
    return max(newest + limit.window - now, timedelta(seconds=1))


def _failures(session: Session, limit: Limit, key_hash: str, now: datetime, *, add: bool) -> list[datetime]:
    client = _redis()
    if client is not None:
        try:
            return _redis_failures(client, limit, key_hash, now, add=add)
        except _redis_errors() as error:
            _redis_failed(error)
    return _database_failures(session, limit, key_hash, now, add=add)


# --- database storage ---------------------------------------------------------------------------

def _database_failures(session: Session, limit: Limit, key_hash: str, now: datetime, *,
                       add: bool) -> list[datetime]:
    model, column = limit.model, getattr(limit.model, limit.key_column)
    if add:
        session.add(model(**{limit.key_column: key_hash}, at=now, success=False))
        session.flush()
    start = now - 2 * limit.window  # older failures cannot belong to a lock still running
    last_success = session.scalar(
        sa.select(model.at).where(column == key_hash, model.success).order_by(model.at.desc()).limit(1)
    )
    if last_success is not None and last_success > start:
        start = last_success
    return list(session.scalars(
        sa.select(model.at).where(column == key_hash, ~model.success, model.at > start).order_by(model.at.desc())
    ))


# --- Redis storage ------------------------------------------------------------------------------

def _redis_errors() -> tuple[type[Exception], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def _redis():
    """The app's Redis client when ``REDIS_URL`` is set and Redis did not fail just now, else None."""
    app = current_app._get_current_object()
    url = app.config.get("REDIS_URL")
    if not url:
        return None
    state = app.extensions.setdefault("ratelimit", {})
    if state.get("down_until", 0.0) > time.monotonic():
        return None
    if state.get("url") != url:
        from redis import Redis

        state["client"] = Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                                         socket_timeout=REDIS_TIMEOUT_SECONDS)
        state["url"] = url
    return state["client"]


def _redis_failed(error: Exception) -> None:
    current_app.extensions.setdefault("ratelimit", {})["down_until"] = time.monotonic() + REDIS_RETRY_SECONDS
    log.error("rate limits: Redis unavailable (%s), the database keeps the counters for %s s",
              type(error).__name__, REDIS_RETRY_SECONDS)


def _redis_name(limit: Limit, key_hash: str) -> str:
    prefix = current_app.config.get("MEDIATION_RATELIMIT_REDIS_PREFIX") or REDIS_PREFIX
    return f"{prefix}{limit.name}:{key_hash}"


def _redis_failures(client, limit: Limit, key_hash: str, now: datetime, *, add: bool) -> list[datetime]:
    name = _redis_name(limit, key_hash)
    stamp = now.timestamp()
    start = stamp - 2 * limit.window.total_seconds()
    with client.pipeline(transaction=True) as pipe:
        if add:
            pipe.zadd(name, {f"{stamp:.6f}:{secrets.token_hex(4)}": stamp})
            pipe.zremrangebyscore(name, "-inf", start)
            pipe.pexpire(name, int(2 * limit.window.total_seconds() * 1000) + 1000)
        pipe.zrevrangebyscore(name, "+inf", f"({start}", withscores=True)
        found = pipe.execute()[-1]
    return [datetime.fromtimestamp(score, UTC) for _, score in found]
