"""Dated copies of figures that take long to compute (a national or regional dashboard).

The impact dashboard (mediation.evaluation.snapshots) and « Statistiques » (mediation.stats.snapshots)
of a whole network read every rollup row of their twelve months and group a hundred thousand people
by profile: 0.5 to 2 s at 1 million accompaniments, tens of seconds at 10 million, for figures the
next viewer asks for again a minute later. Once computed, they are kept here and served to whoever
would compute the very same figures during ``MEDIATION_SNAPSHOT_MAX_AGE_SECONDS`` (15 minutes); the
page says when they were computed and offers to compute them now.

This module is the store and its common rules; each domain says what makes two requests « the very
same figures » (the key: filters, access, format), which roles may share a copy, and how a copy is
computed again.

- **What is kept.** Only what took ``MEDIATION_SNAPSHOT_MIN_MS`` (200 ms) or more to compute: the
  figures of a structure, a commune or a mediator are computed on each view, as before.
- **Read-your-writes.** A person who saved something after a copy was computed gets figures
  computed now (the time of the browser's last write: :func:`mediation.replica.last_write`);
  « Recalculer maintenant » (a button: a form sent with POST, never a link a crawler or a prefetch
  would follow) does the same for anyone. Others' work shows within the copy's age, printed beside
  the figures.
- **Refresh.** ``flask --app mediation instantanes`` (cron, every 5 minutes, see docs/operations.md)
  computes again the copies viewed in the last 24 hours that are older than half their age, so that
  a viewer rarely waits, and deletes those nobody has viewed for a week and those whose last viewer
  may no longer see them (each domain authorises that viewer's filters again).
- **Format.** A copy is the computed object pickled, then compressed; the caller puts a digest of its
  dataclasses' fields (:func:`fields_digest`) in the key, so a release that changes them never reads
  an older copy, and an unreadable copy is computed again. Pickled data comes from this database
  only, written by this module.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import pickle
import time
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from mediation.config import setting
from mediation.extensions import db
from mediation.types import UTCDateTime, utcnow

log = logging.getLogger("mediation.snapshots")

VIEWED_EVERY = timedelta(hours=1)  # a copy's viewed_at is written again at most this often
REFRESH_VIEWED_WITHIN = timedelta(hours=24)
FORGET_AFTER = timedelta(days=7)


class Snapshot(db.Model):
    """Figures computed once and kept for those who would compute the very same ones."""

    __tablename__ = "snapshots"
    __table_args__ = (sa.UniqueConstraint("key", name="uq_snapshots_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))  # « evaluation », « statistiques »: who computes it again
    # sha256 of what the figures depend on (the domain's filters, access and format, and the kind).
    key: Mapped[str] = mapped_column(sa.String(64))
    # The filters (ids, dates and choices only, as in the page's query string).
    params: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    # The last person who asked for it: its refresh is authorised again as that person.
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    viewed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_ms: Mapped[int] = mapped_column(sa.Integer)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)


def min_ms() -> int:
    return int(setting("MEDIATION_SNAPSHOT_MIN_MS"))


def max_age() -> timedelta:
    return timedelta(seconds=int(setting("MEDIATION_SNAPSHOT_MAX_AGE_SECONDS")))


def fields_digest(*modules) -> str:
    """A digest of the fields of the dataclasses defined in ``modules`` (what a pickled copy holds)."""
    fields = []
    for module in modules:
        for name, value in sorted(vars(module).items()):
            if isinstance(value, type) and dataclasses.is_dataclass(value) and value.__module__ == module.__name__:
                fields.append(f"{module.__name__}.{name}:{','.join(f.name for f in dataclasses.fields(value))}")
    return hashlib.sha256(";".join(fields).encode()).hexdigest()[:16]


def key_of(kind: str, **parts) -> str:
    return hashlib.sha256(json.dumps({"kind": kind, **parts}, sort_keys=True, default=str).encode()).hexdigest()


def _dump(value) -> bytes:
    return zlib.compress(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL), 6)


def _load(content: bytes):
    try:
        return pickle.loads(zlib.decompress(content))  # noqa: S301 (written by this module only)
    except Exception as error:  # noqa: BLE001 (an unreadable copy is computed again)
        log.warning("unreadable snapshot (%s): computed again", type(error).__name__)
        return None


@dataclasses.dataclass
class Served:
    value: object
    computed_at: datetime
    kept: bool  # True: a copy computed earlier; False: computed now


def get_or_compute(session: Session, *, kind: str, key: str, params: dict, user_id: int,
                   compute: Callable[[], object], expected: type, wrote_at: float | None = None,
                   fresh: bool = False, shapes: dict[str, Callable | None] | None = None) -> Served:
    """A copy computed less than :func:`max_age` ago under ``key`` when there is one, it was computed
    after ``wrote_at`` (the viewer's last write, Unix time) and ``fresh`` is not asked; else
    ``compute()`` now, kept when it took :func:`min_ms` or more. ``shapes``: the keys under which
    one computation is kept in several shapes (key → function of the computed value, None: as
    computed), ``key`` among them — a page's short copy beside the downloads' complete one."""
    shapes = shapes or {key: None}
    now = utcnow()
    if not fresh:
        row = session.execute(sa.select(Snapshot.id, Snapshot.computed_at, Snapshot.viewed_at, Snapshot.content)
                              .where(Snapshot.key == key)).first()
        if (row is not None and now - row.computed_at < max_age()
                and (wrote_at is None or wrote_at < row.computed_at.timestamp())):
            value = _load(row.content)
            if isinstance(value, expected):
                if now - row.viewed_at >= VIEWED_EVERY:
                    session.execute(sa.update(Snapshot).where(Snapshot.id == row.id)
                                    .values(viewed_at=now, user_id=user_id))
                return Served(value, row.computed_at, kept=True)
    started, computed_at = time.perf_counter(), utcnow()
    value = compute()
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    shaped = {k: shape(value) if shape else value for k, shape in shapes.items()}
    if elapsed_ms >= min_ms():
        for k, v in shaped.items():
            _store(session, kind, k, params, v, computed_at, elapsed_ms, user_id)
    return Served(shaped[key], computed_at, kept=False)


def _store(session: Session, kind: str, key: str, params: dict, value, computed_at: datetime, elapsed_ms: int,
           user_id: int | None) -> None:
    """Keep ``value`` under ``key``, replacing an older copy (two viewers computing it at the same
    moment both succeed; the later one is kept)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    values = {"kind": kind, "key": key, "params": params, "user_id": user_id, "computed_at": computed_at,
              "viewed_at": utcnow(), "duration_ms": elapsed_ms, "content": _dump(value)}
    statement = insert(Snapshot).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=[Snapshot.key], set_={name: statement.excluded[name] for name in values if name != "key"}))


def refresh(session: Session, kind: str, recompute: Callable[[object], object | None], *,
            now: datetime | None = None, after_each: Callable[[], None] | None = None) -> dict[str, int]:
    """Compute again the ``kind`` copies viewed in the last 24 hours that are older than half their
    age; delete those not viewed for a week, those without a last viewer and those for which
    ``recompute(row)`` (the domain: the row's params, key and user_id) returns None (that viewer may
    no longer see these figures, or the key changed). ``after_each()`` is called after each copy
    (the command commits there: a long national computation does not hold the others back).
    Returns the counts (``refreshed``, ``deleted``)."""
    now = now or utcnow()
    counts = {"refreshed": 0, "deleted": 0}
    counts["deleted"] += session.execute(sa.delete(Snapshot).where(
        Snapshot.kind == kind, sa.or_(Snapshot.viewed_at < now - FORGET_AFTER, Snapshot.user_id.is_(None)))).rowcount
    due = session.execute(
        sa.select(Snapshot.id, Snapshot.key, Snapshot.params, Snapshot.user_id)
        .where(Snapshot.kind == kind, Snapshot.viewed_at >= now - REFRESH_VIEWED_WITHIN,
               Snapshot.computed_at < now - max_age() / 2)
        .order_by(Snapshot.viewed_at.desc())).all()
    for row in due:
        started, computed_at = time.perf_counter(), utcnow()
        value = recompute(row)
        if value is None:
            session.execute(sa.delete(Snapshot).where(Snapshot.id == row.id))
            counts["deleted"] += 1
        else:
            session.execute(sa.update(Snapshot).where(Snapshot.id == row.id).values(
                computed_at=computed_at, duration_ms=round((time.perf_counter() - started) * 1000),
                content=_dump(value)))
            counts["refreshed"] += 1
        if after_each is not None:
            after_each()
    return counts
