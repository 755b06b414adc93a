"""Reads served by a PostgreSQL streaming replica (``DATABASE_REPLICA_URL``).

What reads from the replica: the views decorated with :func:`reads_from_replica` (the evaluation
dashboard and its exports, « Statistiques » and its workbook, the API's indicators) and the blocks
wrapped in :func:`reads` (impact reports, built by a job or the command line). Everything else —
every write, the sign-in and session checks, the pages a person works in — reads the primary.
The routing itself is :class:`mediation.extensions.Session`: inside such a view or block, a
SELECT goes to the replica; a flush, an INSERT/UPDATE/DELETE or a ``SELECT … FOR UPDATE`` goes to
the primary, and so does every later read of the block (it sees its own writes).

Three rules keep a page honest:

- **Read-your-writes.** After a request that wrote commits, the primary's WAL position
  (``pg_current_wal_lsn()``, which is past that commit) is kept in the browser's signed session
  cookie. While the replica has not replayed up to that position (``pg_last_wal_replay_lsn()``),
  that browser's replica-routed pages read the primary; the first request that finds it replayed
  forgets it. A position, not a time window: exact whatever the lag (a fixed window is either
  too long, wasting the replica, or too short when the replica falls behind), it costs one
  query after a write and nothing on the replica when no write is pending, and being in the
  cookie it holds across several app servers. A job reads the replica only once it has replayed
  everything the primary had committed when the job started (so a report includes what its
  requester saved before asking), waiting up to :data:`JOB_WAIT_SECONDS`.
- **Lag.** The replica's delay — 0 when it has replayed everything it received, otherwise the age
  of the last transaction it replayed — is checked at most every :data:`STATUS_SECONDS` per
  process; beyond ``MEDIATION_REPLICA_MAX_LAG_SECONDS`` reads go to the primary, with a log line.
- **Down.** A replica that cannot be reached (connection refused or timed out after
  :data:`CONNECT_TIMEOUT` s, or not a standby any more) is left alone for :data:`RETRY_SECONDS`;
  reads go to the primary, with a log line. A view whose replica read fails midway (the
  replica went away, or cancelled the query to replay a conflicting change) is run again on
  the primary.

The time of the browser's last write is kept in the same cookie, with or without a replica: the
dashboards kept a few minutes (mediation.evaluation.snapshots) are computed again for a person
who saved something after theirs was computed.

Log lines carry positions, delays and error class names, never data.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from functools import wraps

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, has_request_context, request, session

from mediation.config import normalise_database_url
from mediation.extensions import FLUSHED, READ_BIND, READ_BIND_WROTE, WRITTEN_TABLES, db

log = logging.getLogger("mediation.replica")

EXTENSION = "mediation.replica"
SESSION_KEY = "wal"  # in the signed cookie: the primary's WAL position after this browser's last write
WROTE_AT_KEY = "ecrit"  # in the signed cookie: when this browser's last write was committed (Unix time)
# What signing in, a session, a token or a job writes: no figure counts these rows, so writing only
# them does not make the kept dashboards be computed again for that browser.
ACCOUNT_TABLES = frozenset({"users", "login_attempts", "api_tokens", "user_sessions", "audit_events",
                            "audit_anchor", "jobs", "snapshots"})
STATUS_SECONDS = 1.0  # a replica's measured delay is trusted this long (per process)
RETRY_SECONDS = 10.0  # an unreachable replica is not tried again before
CONNECT_TIMEOUT = 2  # seconds
JOB_WAIT_SECONDS = 1.0  # a job waits this long at most for the replica to catch up, then reads the primary
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

STATUS_SQL = sa.text(
    "SELECT pg_is_in_recovery() AS standby, "
    "pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint AS replayed, "
    "CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 "
    "ELSE EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp()) END AS lag"
)
PRIMARY_POSITION_SQL = sa.text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")


@dataclass(frozen=True)
class Status:
    checked_at: float  # time.monotonic()
    replayed: int  # WAL position replayed, in bytes
    lag: float | None  # seconds; None: unknown (nothing replayed yet while WAL is waiting)


class Replica:
    """One replica of one application: its engine and its last measured state (per process)."""

    def __init__(self, url: str, max_lag: float):
        self.engine = sa.create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT})
        self.max_lag = max_lag
        self._status: Status | None = None
        self._down_until = 0.0
        self._trouble: str | None = None  # what the last log line said was wrong, to log changes once
        self._lag_logged_at: float | None = None
        self._lock = threading.Lock()

    # -- state ------------------------------------------------------------------------------------

    def _measure(self) -> Status | None:
        try:
            with self.engine.connect() as connection:
                row = connection.execute(STATUS_SQL).one()
        except sa.exc.SQLAlchemyError as error:
            self._mark_down(type(getattr(error, "orig", None) or error).__name__)
            return None
        if not row.standby or row.replayed is None:
            self._mark_down("not a standby")
            return None
        status = Status(time.monotonic(), int(row.replayed), None if row.lag is None else float(row.lag))
        self._status = status
        return status

    def _mark_down(self, reason: str) -> None:
        self._status = None
        self._down_until = time.monotonic() + RETRY_SECONDS
        self._say(f"unavailable ({reason})", f"read replica unavailable ({reason}): reads go to the primary for "
                  f"{RETRY_SECONDS:.0f} s")

    def _say(self, trouble: str | None, message: str) -> None:
        """Log a change of state once (a lag: once per measurement, at most every STATUS_SECONDS)."""
        if trouble is None:
            if self._trouble is not None:
                log.info("read replica usable again (was %s)", self._trouble)
        elif trouble != self._trouble or trouble.startswith("lag"):
            log.warning(message)
        self._trouble = trouble

    def status(self, *, fresh: bool = False) -> Status | None:
        """The replica's state, measured at most every STATUS_SECONDS (now if ``fresh``); None when
        it is unreachable or not a standby."""
        with self._lock:
            now = time.monotonic()
            if now < self._down_until:
                return None
            status = self._status
            if fresh or status is None or now - status.checked_at > STATUS_SECONDS:
                status = self._measure()
            return status

    def usable(self, position: int | None = None) -> bool:
        """True when reads may go to the replica: reachable, within the lag limit, and — for a
        ``position`` (a WAL position that must be visible) — replayed past it."""
        status = self.status()
        if status is None:
            return False
        if position is not None and status.replayed < position:
            status = self.status(fresh=True)  # the replayed position only grows: measure again once
            if status is None or status.replayed < position:
                log.debug("read replica has not replayed this session's last write yet: reads go to the primary")
                return False
        if status.lag is None or status.lag > self.max_lag:
            with self._lock:
                if self._lag_logged_at != status.checked_at:  # once per measurement, not per request
                    self._lag_logged_at = status.checked_at
                    lag = "unknown" if status.lag is None else f"{status.lag:.1f} s"
                    self._say(f"lag {lag}", f"read replica behind by {lag} (limit {self.max_lag:g} s): reads go "
                              "to the primary")
            return False
        if self._trouble is not None:
            with self._lock:
                self._say(None, "")
        return True

    def suspect(self, error: BaseException) -> bool:
        """After a failed routed read: True if the replica is the cause (cancelled for a conflict
        with recovery, or unreachable now); then it is set aside and the read can go to the primary."""
        orig = getattr(error, "orig", None)
        if getattr(orig, "sqlstate", None) == "40001":  # "canceling statement due to conflict with recovery"
            log.warning("read on the replica cancelled by recovery: read again from the primary")
            return True
        with self._lock:
            if self._measure() is None:
                return True
        return False


def init_app(app: Flask) -> None:
    """Set up the replica of ``DATABASE_REPLICA_URL`` (nothing when unset)."""
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url:
        return
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise RuntimeError("DATABASE_REPLICA_URL : une réplique de lecture demande une base principale PostgreSQL "
                           "(DATABASE_URL=postgresql://…).")
    if not url.startswith("postgresql"):
        raise RuntimeError("DATABASE_REPLICA_URL : l'adresse d'une réplique PostgreSQL est attendue (postgresql://…).")
    app.extensions[EXTENSION] = Replica(normalise_database_url(url),
                                        float(app.config["MEDIATION_REPLICA_MAX_LAG_SECONDS"]))


def current() -> Replica | None:
    return current_app.extensions.get(EXTENSION) if has_app_context() else None


# --- routing ------------------------------------------------------------------------------------

@contextlib.contextmanager
def _routed(db_session, replica: Replica):
    # What the request wrote before (a session's last-seen time) is flushed to the primary first,
    # so that it does not count as a write of the block.
    db_session.flush()
    db_session.info[READ_BIND], db_session.info[READ_BIND_WROTE] = replica.engine, False
    try:
        yield
    finally:
        db_session.info.pop(READ_BIND, None)
        db_session.info.pop(READ_BIND_WROTE, None)


def _browser_position() -> int | None:
    value = session.get(SESSION_KEY) if has_request_context() else None
    return value if isinstance(value, int) else None


def reads_from_replica(view):
    """Decorate a read-only view (under ``@access`` / ``@api_access``): its reads go to the replica
    when one is set and usable for this browser (see the module's rules), else to the primary."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        replica = current()
        if replica is None:
            return view(*args, **kwargs)
        position = _browser_position()
        if not replica.usable(position):
            return view(*args, **kwargs)
        if position is not None:
            session.pop(SESSION_KEY, None)  # replayed: this browser's pages may read the replica again
        try:
            with _routed(db.session, replica):
                return view(*args, **kwargs)
        except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
            if not replica.suspect(error):
                raise
            db.session.rollback()
            return view(*args, **kwargs)

    wrapper.reads_from_replica = True
    return wrapper


@contextlib.contextmanager
def reads(db_session):
    """Outside a request (a job, a command): the block's reads go to the replica once it has
    replayed what the primary had committed when the block starts — waiting up to
    JOB_WAIT_SECONDS — else to the primary."""
    replica = current()
    if replica is None:
        yield
        return
    try:
        target = int(db_session.execute(PRIMARY_POSITION_SQL).scalar_one())
    except sa.exc.SQLAlchemyError:
        yield  # the primary's own error will show where it matters
        return
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while not (usable := replica.usable(target)) and time.monotonic() < deadline and replica.status() is not None:
        time.sleep(0.02)
    if not usable:
        log.info("read replica not caught up with the primary: this job reads the primary")
        yield
        return
    with _routed(db_session, replica):
        yield


def remember_write() -> None:
    """After a request's commit: if it wrote, keep its time in this browser's session (see
    :func:`last_write`) and, with a replica, the primary's WAL position, so that its replica-routed
    pages read the primary until the replica has replayed it. Called by the request cycle
    (mediation.web) right after the commit."""
    if not has_request_context():
        return
    wrote = db.session.info.pop(FLUSHED, False)
    tables = db.session.info.pop(WRITTEN_TABLES, set())
    if not wrote or request.method in SAFE_METHODS or "_user_id" not in session:
        return
    if tables - ACCOUNT_TABLES:
        session[WROTE_AT_KEY] = round(time.time(), 3)
    if current() is None:
        return
    try:
        session[SESSION_KEY] = int(db.session.execute(PRIMARY_POSITION_SQL).scalar_one())
    except sa.exc.SQLAlchemyError as error:  # committed, but the primary went away just after
        log.warning("primary's WAL position unknown after a write (%s)", type(error).__name__)


def last_write() -> float | None:
    """When this browser last saved something (Unix time, as committed), None if it has not in
    this session: a copy of figures computed before that moment would not show that person their
    own write (mediation.evaluation.snapshots)."""
    value = session.get(WROTE_AT_KEY) if has_request_context() else None
    return float(value) if isinstance(value, int | float) else None
