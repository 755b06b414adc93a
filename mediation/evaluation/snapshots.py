"""Dated copies of the dashboards that take long to compute.

A national dashboard reads every rollup row of its twelve months and groups a hundred thousand
people by profile: 1 to 2 s at 1 million accompaniments, tens of seconds at 10 million, for
figures that the next viewer asks for again a minute later. Such a dashboard, once computed, is
kept (``evaluation_snapshots``) and served to whoever asks for the same figures during
``MEDIATION_EVALUATION_SNAPSHOT_MAX_AGE_SECONDS`` (15 minutes); the page, the XLSX and CSV
files say when it was computed (« Chiffres calculés à 10 h 12 ») and offer to compute them now.

- **What is kept.** Only a dashboard whose computation took ``MEDIATION_EVALUATION_SNAPSHOT_MIN_MS``
  (200 ms) or more: a structure's, a commune's, a mediator's dashboard is computed on each view,
  as before. And only for the roles whose figures depend on the filters alone: administrators and
  funders (every structure; a funder's filter names its programme), coordinators (their
  territory's structures, the filter names the territory). A mediator's figures depend on the
  structures they work for today: always computed on demand.
- **Who shares a copy.** Those whose authorised filters (:func:`~mediation.evaluation.scope.authorise`),
  comparison, suppression threshold and access are the same: they would compute the very same
  figures. The copy holds what the dashboard prints (aggregates, suppression applied), nothing else.
- **Read-your-writes.** A person who saved something after the copy was computed gets figures
  computed now (the time of the browser's last write: :func:`mediation.replica.last_write`), so
  that nobody misses their own work; ``recalculer=1`` (« Recalculer maintenant ») does the same.
  Others' work shows within the copy's age, printed beside the figures.
- **Refresh.** ``flask evaluation instantanes`` (cron, every 5 minutes, see docs/operations.md)
  computes again the copies viewed in the last 24 hours that are more than half their age, so
  that a viewer rarely waits; it deletes the copies nobody has viewed for a week and those whose
  last viewer has lost access to them (that viewer's filters are authorised again).
- **Format.** The copy is the :class:`~mediation.evaluation.results.Dashboard` pickled, then
  compressed; :data:`FORMAT` (a digest of the dataclasses' fields) is part of the key, so a
  release that changes them never reads an older copy. Pickled data comes from this database only,
  written by this code.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import pickle
import time
import zlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.auth.models import Role, User
from mediation.config import setting
from mediation.errors import DomainError
from mediation.evaluation import definitions, indicators, observatoire, results
from mediation.evaluation.models import DashboardSnapshot
from mediation.evaluation.scope import EvaluationFilter, Scope, authorise
from mediation.types import utcnow

log = logging.getLogger("mediation.evaluation.snapshots")

VIEWED_EVERY = timedelta(hours=1)  # a copy's viewed_at is written again at most this often
REFRESH_VIEWED_WITHIN = timedelta(hours=24)
FORGET_AFTER = timedelta(days=7)


def _format() -> str:
    fields = []
    for module in (results, observatoire, definitions):
        for name, value in sorted(vars(module).items()):
            if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__:
                fields.append(f"{name}:{','.join(f.name for f in dataclasses.fields(value))}")
    return hashlib.sha256(";".join(fields).encode()).hexdigest()[:16]


FORMAT = _format()


def min_ms() -> int:
    return int(setting("MEDIATION_EVALUATION_SNAPSHOT_MIN_MS"))


def max_age() -> timedelta:
    return timedelta(seconds=int(setting("MEDIATION_EVALUATION_SNAPSHOT_MAX_AGE_SECONDS")))


def access_of(user: User) -> str | None:
    """What the user's figures depend on besides the filters; None: no shared copy (mediators)."""
    if user.role in (Role.ADMIN, Role.FUNDER):
        return "tout"
    if user.role == Role.COORDINATOR and user.territory_id is not None:
        return f"territoire:{user.territory_id}"
    return None


def _params(f: EvaluationFilter, compare: str | None) -> dict:
    return {**f.query_args(), **({"comparer": compare} if compare else {})}


def key_of(f: EvaluationFilter, compare: str | None, threshold: int, access: str) -> str:
    parts = {"filtres": _params(f, compare), "seuil": threshold, "acces": access, "format": FORMAT}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _load(content: bytes) -> results.Dashboard | None:
    try:
        dashboard = pickle.loads(zlib.decompress(content))  # noqa: S301 (written by this module only)
    except Exception as error:  # noqa: BLE001 (an unreadable copy is computed again)
        log.warning("unreadable dashboard snapshot (%s): computed again", type(error).__name__)
        return None
    return dashboard if isinstance(dashboard, results.Dashboard) else None


def dashboard(scope: Scope, *, compare: str | None = None, wrote_at: float | None = None,
              fresh: bool = False) -> results.Dashboard:
    """The scope's dashboard: a copy computed less than :func:`max_age` ago when there is one for
    these figures, computed before ``wrote_at`` (the viewer's last write, Unix time) was not, and
    ``fresh`` is not asked; else computed now (and kept when it took :func:`min_ms` or more)."""
    session = scope.session
    threshold = indicators.suppression_threshold()
    access = access_of(scope.user)
    if access is None:
        return indicators.compute_dashboard(scope, threshold=threshold, compare=compare)
    key = key_of(scope.filter, compare, threshold, access)
    now = utcnow()
    if not fresh:
        row = session.execute(
            sa.select(DashboardSnapshot.id, DashboardSnapshot.computed_at, DashboardSnapshot.viewed_at,
                      DashboardSnapshot.content).where(DashboardSnapshot.key == key)).first()
        if (row is not None and now - row.computed_at < max_age()
                and (wrote_at is None or wrote_at < row.computed_at.timestamp())):
            kept = _load(row.content)
            if kept is not None:
                if now - row.viewed_at >= VIEWED_EVERY:
                    session.execute(sa.update(DashboardSnapshot).where(DashboardSnapshot.id == row.id)
                                    .values(viewed_at=now, user_id=scope.user.id))
                return dataclasses.replace(kept, snapshot=True)
    started = time.perf_counter()
    computed = indicators.compute_dashboard(scope, threshold=threshold, compare=compare)
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    if elapsed_ms >= min_ms():
        store(session, key, _params(scope.filter, compare), computed, elapsed_ms, scope.user.id)
    return computed


def store(session: Session, key: str, params: dict, computed: results.Dashboard, elapsed_ms: int,
          user_id: int | None) -> None:
    """Keep ``computed`` under ``key`` (replacing an older copy: two viewers computing it at the
    same moment both succeed, the later one is kept)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = {"key": key, "params": params, "user_id": user_id, "computed_at": computed.generated_at,
              "viewed_at": utcnow(), "duration_ms": elapsed_ms,
              "content": zlib.compress(pickle.dumps(computed, protocol=pickle.HIGHEST_PROTOCOL), 6)}
    statement = insert(DashboardSnapshot).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[DashboardSnapshot.key],
        set_={name: statement.excluded[name] for name in values if name != "key"}))


def refresh(session: Session, *, now: datetime | None = None, after_each=None) -> dict[str, int]:
    """Compute again the copies viewed in the last 24 hours that are older than half their age;
    delete those not viewed for a week and those whose last viewer may no longer see them.
    Returns the counts (``refreshed``, ``deleted``). ``after_each()`` is called after each copy
    (the command commits there: a long national computation does not hold the others back)."""
    now = now or utcnow()
    counts = {"refreshed": 0, "deleted": 0}
    counts["deleted"] += session.execute(sa.delete(DashboardSnapshot).where(
        sa.or_(DashboardSnapshot.viewed_at < now - FORGET_AFTER, DashboardSnapshot.user_id.is_(None)))).rowcount
    due = session.execute(
        sa.select(DashboardSnapshot.id, DashboardSnapshot.key, DashboardSnapshot.params, DashboardSnapshot.user_id)
        .where(DashboardSnapshot.viewed_at >= now - REFRESH_VIEWED_WITHIN,
               DashboardSnapshot.computed_at < now - max_age() / 2)
        .order_by(DashboardSnapshot.viewed_at.desc())).all()
    for row in due:
        if not _refresh_one(session, row):
            session.execute(sa.delete(DashboardSnapshot).where(DashboardSnapshot.id == row.id))
            counts["deleted"] += 1
        else:
            counts["refreshed"] += 1
        if after_each is not None:
            after_each()
    return counts


def _refresh_one(session: Session, row) -> bool:
    user = session.get(User, row.user_id)
    if user is None or not user.is_active_account or access_of(user) is None:
        return False
    params = dict(row.params)
    compare = params.pop("comparer", None)
    try:
        f = EvaluationFilter.from_params(params)
        authorised = authorise(session, user, f)
    except (DomainError, ValueError):
        return False
    if authorised != f:  # the role now imposes other filters: these figures are no longer theirs
        return False
    scope = Scope(session, user, f)
    threshold = indicators.suppression_threshold()
    if key_of(f, compare, threshold, access_of(user)) != row.key:
        return False  # the threshold, the viewer's access or the format changed: another copy
    started = time.perf_counter()
    computed = indicators.compute_dashboard(scope, threshold=threshold, compare=compare)
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    session.execute(sa.update(DashboardSnapshot).where(DashboardSnapshot.id == row.id).values(
        computed_at=computed.generated_at, duration_ms=elapsed_ms,
        content=zlib.compress(pickle.dumps(computed, protocol=pickle.HIGHEST_PROTOCOL), 6)))
    return True
