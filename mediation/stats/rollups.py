"""Keeping the activity rollups exact: incremental refresh of the cells a change touches, full
rebuild, and a check against the raw tables.

A *cell* is (structure_id, month, mediator_id). Refreshing a cell deletes its rows from the three
rollup tables and recomputes them from ``activities`` / ``participations`` / ``beneficiaries`` in
the caller's transaction: the result is exact whatever the change was, as long as every cell whose
inputs changed is refreshed. The cells a change to activities touches are:

- the cells the activities are in now, and the cells they were in before an edit (date or
  structure changed: capture them with :func:`capture` before the change);
- the cells of every activity of their participants: moving someone's first accompaniment (a new
  earlier session, a deletion) changes "nouveaux bénéficiaires" in another activity's cell.

Concurrent refreshes of the same cell are serialised on PostgreSQL by transaction-level advisory
locks (one per cell, taken in a fixed order); SQLite has a single writer anyway.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import GenericFunction

from mediation.cases.enums import Genre, StatutSocial, TrancheAge
from mediation.cases.models import Activity, ActivityThematique, Beneficiary, Participation
from mediation.stats.coop_rollups import coop_rows, coop_selects, profile_of
from mediation.stats.models import (
    ActivityProfileRollup,
    ActivityRollup,
    AnonymousProfileRollup,
    BeneficiaryMonthRollup,
    CoopPersonRollup,
    CoopRollup,
    ThematiqueRollup,
)

Cell = tuple[int, date, int]  # (structure_id, month, mediator_id)

ROLLUP_TABLES = (ActivityRollup.__table__, ThematiqueRollup.__table__, BeneficiaryMonthRollup.__table__,
                 AnonymousProfileRollup.__table__, ActivityProfileRollup.__table__, CoopRollup.__table__,
                 CoopPersonRollup.__table__)
LOCK_NAMESPACE = 7270002
# Above this many cells, refreshing whole months is cheaper than a long OR of cells.
MAX_CELLS = 400


class month_start(GenericFunction):
    """First day of the month of a date column, as a date, on both databases."""

    type = sa.Date()
    name = "month_start"
    inherit_cache = True


@compiles(month_start, "postgresql")
def _month_start_pg(element, compiler, **kw):
    return f"CAST(date_trunc('month', {compiler.process(element.clauses, **kw)}) AS DATE)"


@compiles(month_start, "sqlite")
def _month_start_sqlite(element, compiler, **kw):
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


# --- which cells a change touches ---------------------------------------------------------------

def cells_of(session: Session, activity_ids: Iterable[int] = (), beneficiary_ids: Iterable[int] = ()) -> set[Cell]:
    """The cells of ``activity_ids``, of every activity of their participants, and of every activity
    of ``beneficiary_ids`` (deleted activities included: their contribution must go).

    A UNION of index-driven lookups (activity ids; participations by activity, then by person)."""
    activity_ids = sorted({int(i) for i in activity_ids if i is not None})
    beneficiary_ids = sorted({int(i) for i in beneficiary_ids if i is not None})
    if not activity_ids and not beneficiary_ids:
        return set()
    session.flush()
    cell = (Activity.structure_id, month_start(Activity.date).label("month"), Activity.mediator_id)
    with_people = sa.select(*cell).join(Participation, Participation.activity_id == Activity.id)
    parts = []
    if activity_ids:
        people = sa.select(Participation.beneficiary_id).where(Participation.activity_id.in_(activity_ids))
        parts.append(sa.select(*cell).where(Activity.id.in_(activity_ids)))
        parts.append(with_people.where(Participation.beneficiary_id.in_(people)))
    if beneficiary_ids:
        parts.append(with_people.where(Participation.beneficiary_id.in_(beneficiary_ids)))
    rows = session.execute(sa.union(*parts) if len(parts) > 1 else parts[0].distinct())
    return {(s, as_date(m), med) for s, m, med in rows}


def capture(session: Session, activity_ids: Iterable[int]) -> set[Cell]:
    """Call BEFORE changing activities whose date, structure or participants may change; pass the
    result as ``previous`` to :func:`refresh_rollups` after the change."""
    return cells_of(session, activity_ids)


def refresh_rollups(session: Session, activity_ids: Iterable[int] | None = None, *,
                    dates: Iterable[date] | None = None, beneficiary_ids: Iterable[int] | None = None,
                    previous: Iterable[Cell] | None = None) -> int:
    """Make the rollups exact again after a change, in the caller's transaction (flushes first).

    - ``activity_ids``: activities created, edited, deleted or restored;
    - ``beneficiary_ids``: people whose participations moved or whose identity status changed
      (merge, anonymisation);
    - ``previous``: cells captured with :func:`capture` before an edit;
    - ``dates``: recompute the whole months of these dates, every structure (bulk fixes).

    Returns the number of cells (or months × all structures, counted as one each) refreshed.
    """
    cells = set(previous or ())
    cells |= cells_of(session, activity_ids or (), beneficiary_ids or ())
    months = {first_of_month(d) for d in (dates or ())}
    if len(cells) > MAX_CELLS:
        months |= {cell[1] for cell in cells}
        cells = set()
    cells = {c for c in cells if c[1] not in months}
    if months:
        _refresh_months(session, sorted(months))
    if cells:
        _refresh_cells(session, sorted(cells))
    return len(cells) + len(months)


def add_new_activity(session: Session, activity: Activity, participations: Iterable[Participation],
                     displaced: Iterable[Cell] = ()) -> None:
    """Add a just-created live ``activity`` to its cell by additive upserts (``INSERT … ON CONFLICT
    DO UPDATE SET n = n + …``), instead of recomputing the whole cell: a new activity only adds.

    ``displaced``: the cells of the first accompaniments the new activity took over (their
    « nouveaux bénéficiaires » went down); they are recomputed after the upserts, which is exact
    whatever the upserts added. The participations' ``first_accompaniment`` flags must be final.

    Locks: the activity's cell and the displaced ones, all at once in a fixed order, as a refresh
    does — taking them one after the other let two back-dated sessions deadlock (each held its own
    cell and waited for the other's).
    """
    session.flush()
    month = first_of_month(activity.date)
    own: Cell = (activity.structure_id, month, activity.mediator_id)
    displaced = sorted({(s, first_of_month(m), med) for s, m, med in displaced})
    dialect = session.get_bind().dialect.name
    # The activity's cell alone (the frequent case): its lock is taken by the upserts' statement
    # itself (below), one round trip less.
    lock_with_upserts = dialect == "postgresql" and not displaced
    if not lock_with_upserts:
        _lock(session, [_cell_key(c) for c in {own, *displaced}])
    cell = {"structure_id": own[0], "month": own[1], "mediator_id": own[2]}
    participations = list(participations)
    identified = [p.beneficiary_id for p in participations if not p.beneficiary.counted_per_participation]
    n = len(participations)
    codes = sorted(set(activity.thematiques or ()))
    profiles = Counter(_profile_key(p.beneficiary) for p in participations if p.beneficiary.counted_per_participation)
    coop, coop_people = coop_rows(activity, participations, cell)
    rows = {  # table → rows to add (each key once per table)
        ActivityRollup.__tablename__: [{
            **cell, "type": activity.type, "activities": 1, "accompaniments": n,
            "anonymous_accompaniments": n - len(identified),
            "first_accompaniments": sum(1 for p in participations if p.first_accompaniment),
            "duration_min": activity.duration_min}],
        ThematiqueRollup.__tablename__: [
            {**cell, "type": activity.type, "code": code, "activities": 1, "accompaniments": n} for code in codes],
        BeneficiaryMonthRollup.__tablename__: [
            {**cell, "beneficiary_id": b, "accompaniments": 1} for b in sorted(set(identified))],
        AnonymousProfileRollup.__tablename__: [
            {**cell, **dict(key), "accompaniments": count} for key, count in sorted(profiles.items())],
        ActivityProfileRollup.__tablename__: [{**cell, **activity_profile_of(activity)}],
        CoopRollup.__tablename__: coop,
        CoopPersonRollup.__tablename__: coop_people,
    }
    if dialect == "postgresql":
        # One statement, one round trip: the upserts as data-modifying CTEs (each on its own table).
        _combined_upsert(session, {name: r for name, r in rows.items() if r},
                         lock_key=_lock_keys([_cell_key(own)])[0] if lock_with_upserts else None)
    else:
        statements = _upserts(dialect)
        for name, table_rows in rows.items():
            if table_rows:
                session.execute(statements[name], table_rows if len(table_rows) > 1 else table_rows[0])
    if displaced:
        _refresh_cells(session, displaced)


def _profile_key(beneficiary: Beneficiary) -> tuple:
    profile = anonymous_profile_of(beneficiary)
    return (("commune_id", profile["commune_id"]), ("genre", Genre(profile["genre"])),
            ("statut_social", StatutSocial(profile["statut_social"])),
            ("tranche_age", TrancheAge(profile["tranche_age"])))


_UPSERTS: dict[str, dict[str, sa.Insert]] = {}


def _upserts(dialect: str) -> dict[str, sa.Insert]:
    """One ``INSERT … ON CONFLICT (primary key) DO UPDATE`` per rollup table, adding the new values
    (built once per dialect: SQLAlchemy then reuses their compiled form)."""
    if dialect not in _UPSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        statements = {}
        for table in ROLLUP_TABLES:
            statement = insert(table)
            keys = [c.name for c in table.primary_key.columns]
            statements[table.name] = statement.on_conflict_do_update(index_elements=keys,
                                                                     set_=_added_values(statement, table))
        _UPSERTS[dialect] = statements
    return _UPSERTS[dialect]


def _added_values(statement, table) -> dict:
    keys = [c.name for c in table.primary_key.columns]
    copied = table.info.get("copied", ())  # not counts: the row's copy of a record, set again
    # SUM over rows whose value is NULL is NULL: keep that meaning (duration_min).
    return {c.name: statement.excluded[c.name] if c.name in copied else
            sa.func.coalesce(c + statement.excluded[c.name], c, statement.excluded[c.name])
            for c in table.columns if c.name not in keys}


_COMBINED: dict[tuple, sa.Select] = {}


def _combined_upsert(session: Session, rows: dict[str, list[dict]], lock_key: int | None = None) -> None:
    """PostgreSQL: ``WITH a0 AS (INSERT … ON CONFLICT DO UPDATE), a1 AS (…) SELECT 1`` — the upserts
    of :func:`_upserts`, one single-row upsert per CTE, for every row of every table in one
    statement (data-modifying CTEs always run to completion; the rows of a table have distinct keys,
    as one statement may touch a row only once). Built once per shape (how many rows of which
    table) with named parameters, so that SQLAlchemy caches its compiled form (a multi-row VALUES
    would be compiled again on every call).

    ``lock_key``: the cell's advisory lock, taken by the statement before any upsert (``WITH held AS
    (SELECT pg_advisory_xact_lock(…))``, every upsert selecting its row from ``held``), instead of
    by a statement of its own. The upserts may then run with a snapshot taken before the lock was
    granted: an ``INSERT … ON CONFLICT DO UPDATE`` adds to the latest committed version of the row
    whatever the snapshot (READ COMMITTED), so a refresh of the cell committed meanwhile is added
    to, not overwritten."""
    shape = (tuple((name, len(table_rows)) for name, table_rows in rows.items()), lock_key is not None)
    statement = _COMBINED.get(shape)
    if statement is None:
        from sqlalchemy.dialects.postgresql import insert

        tables = {table.name: table for table in ROLLUP_TABLES}
        held = (sa.select(sa.func.pg_advisory_xact_lock(sa.bindparam("lock_ns", type_=sa.Integer),
                                                        sa.bindparam("lock_key", type_=sa.Integer)).label("held"))
                .cte("held")) if lock_key is not None else None
        ctes = []
        for name, count in shape[0]:
            table = tables[name]
            for index in range(count):
                values = [sa.bindparam(f"{name}_{index}_{c.name}", type_=c.type) for c in table.columns]
                if held is None:
                    upsert = insert(table).values(**{c.name: v for c, v in zip(table.columns, values, strict=True)})
                else:
                    upsert = insert(table).from_select([c.name for c in table.columns],
                                                       sa.select(*values).select_from(held))
                upsert = upsert.on_conflict_do_update(index_elements=[c.name for c in table.primary_key.columns],
                                                      set_=_added_values(upsert, table))
                ctes.append(upsert.cte(f"add_{name}_{index}"))
        statement = _COMBINED[shape] = sa.select(sa.literal(1)).add_cte(*ctes)
    tables = {table.name: table for table in ROLLUP_TABLES}
    params = {f"{name}_{index}_{c.name}": row[c.name] for name, table_rows in rows.items() for index, row in enumerate(table_rows)
              for c in tables[name].columns}
    if lock_key is not None:
        params.update(lock_ns=LOCK_NAMESPACE, lock_key=lock_key)
    session.execute(statement, params)


def copy_profile(session: Session, beneficiary: Beneficiary) -> None:
    """After an edit of a record: its profile copied in :class:`CoopPersonRollup` (one ``UPDATE``
    by the person's index; the cells' counts do not change)."""
    session.flush()
    session.execute(sa.update(CoopPersonRollup).where(CoopPersonRollup.beneficiary_id == beneficiary.id)
                    .values(**profile_of(beneficiary)).execution_options(synchronize_session=False))


def rebuild(session: Session) -> dict[str, int]:
    """Empty and recompute every rollup from the raw tables (after a bulk load or to repair)."""
    session.flush()
    for table in ROLLUP_TABLES:
        session.execute(table.delete())
    _insert_aggregates(session, None)
    return rollup_counts(session)


def rollup_counts(session: Session) -> dict[str, int]:
    return {t.name: session.scalar(sa.select(sa.func.count()).select_from(t)) for t in ROLLUP_TABLES}


# --- recomputation ------------------------------------------------------------------------------

def as_date(value) -> date:
    """A date read back from either database (SQLite may give text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])



def _lock_keys(keys: list[str]) -> list[int]:
    return sorted({zlib.crc32(k.encode()) & 0x7FFFFFFF for k in keys})


def _lock(session: Session, keys: list[str]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in _lock_keys(keys):
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": LOCK_NAMESPACE, "key": key})


def _cell_key(cell: Cell) -> str:
    structure, month, mediator = cell
    return f"cell:{structure}:{month.isoformat()}:{mediator}"


def _cells_clause(cells: list[Cell]):
    """Activities of the cells, in an index-friendly shape: (mediator, date range) per cell."""
    return sa.or_(*[
        sa.and_(Activity.mediator_id == mediator, Activity.structure_id == structure,
                Activity.date >= month, Activity.date < next_month(month))
        for structure, month, mediator in cells
    ])


def _refresh_cells(session: Session, cells: list[Cell]) -> None:
    _lock(session, [_cell_key(c) for c in cells])
    for table in ROLLUP_TABLES:
        key = sa.tuple_(table.c.structure_id, table.c.month, table.c.mediator_id)
        session.execute(table.delete().where(key.in_(cells)))
    _insert_aggregates(session, _cells_clause(cells))


def _refresh_months(session: Session, months: list[date]) -> None:
    _lock(session, [f"month:{m.isoformat()}" for m in months])
    for table in ROLLUP_TABLES:
        session.execute(table.delete().where(table.c.month.in_(months)))
    _insert_aggregates(session, sa.or_(*[
        sa.and_(Activity.date >= m, Activity.date < next_month(m)) for m in months
    ]))


def aggregate_selects(where=None) -> dict[str, sa.Select]:
    """The three ``SELECT … GROUP BY`` that define the rollups (over live activities matching
    ``where``), keyed by rollup table name. Also used by :func:`differences`.

    Activity-level and participation-level measures are aggregated separately, then joined on the
    group keys: each side is one plain aggregate, whatever the planner's estimates (a join with a
    per-activity subquery degenerated into a nested loop on freshly written cells).
    """
    live = Activity.deleted_at.is_(None)
    condition = live if where is None else sa.and_(live, where)
    month = month_start(Activity.date).label("month")
    keys = (Activity.structure_id, month, Activity.mediator_id, Activity.type)

    def joined(left, right, names):
        return sa.and_(*[left.c[name] == right.c[name] for name in names])

    names = ("structure_id", "month", "mediator_id", "type")
    per_activity = (
        sa.select(*keys, sa.func.count().label("activities"), sa.func.sum(Activity.duration_min).label("minutes"))
        .where(condition).group_by(*keys).subquery("per_activity")
    )
    per_participation = (
        sa.select(*keys, sa.func.count().label("n"),
                  sa.func.sum(sa.case((Beneficiary.counted_per_participation, 1), else_=0)).label("anonymous"),
                  sa.func.sum(sa.case((Participation.first_accompaniment, 1), else_=0)).label("first"))
        .select_from(Activity)
        .join(Participation, Participation.activity_id == Activity.id)
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .where(condition).group_by(*keys).subquery("per_participation")
    )
    activities = (
        sa.select(
            *[per_activity.c[name] for name in names],
            per_activity.c.activities,
            sa.func.coalesce(per_participation.c.n, 0).label("accompaniments"),
            sa.func.coalesce(per_participation.c.anonymous, 0).label("anonymous_accompaniments"),
            sa.func.coalesce(per_participation.c.first, 0).label("first_accompaniments"),
            per_activity.c.minutes.label("duration_min"),
        )
        .select_from(per_activity.outerjoin(per_participation, joined(per_activity, per_participation, names)))
    )
    code_names = (*names, "code")
    code_keys = (*keys, ActivityThematique.code)
    codes_per_activity = (
        sa.select(*code_keys, sa.func.count().label("activities"))
        .select_from(Activity).join(ActivityThematique, ActivityThematique.activity_id == Activity.id)
        .where(condition).group_by(*code_keys).subquery("codes_per_activity")
    )
    codes_per_participation = (
        sa.select(*code_keys, sa.func.count().label("n"))
        .select_from(Activity).join(ActivityThematique, ActivityThematique.activity_id == Activity.id)
        .join(Participation, Participation.activity_id == Activity.id)
        .where(condition).group_by(*code_keys).subquery("codes_per_participation")
    )
    thematiques = (
        sa.select(
            *[codes_per_activity.c[name] for name in code_names],
            codes_per_activity.c.activities,
            sa.func.coalesce(codes_per_participation.c.n, 0).label("accompaniments"),
        )
        .select_from(codes_per_activity.outerjoin(
            codes_per_participation, joined(codes_per_activity, codes_per_participation, code_names)))
    )
    beneficiaries = (
        sa.select(
            Activity.structure_id, month, Activity.mediator_id, Participation.beneficiary_id,
            sa.func.count().label("accompaniments"),
        )
        .select_from(Activity)
        .join(Participation, Participation.activity_id == Activity.id)
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .where(condition, sa.not_(Beneficiary.counted_per_participation))
        .group_by(Activity.structure_id, month, Activity.mediator_id, Participation.beneficiary_id)
    )
    profile = anonymous_profile_sql()
    anonymous = (
        sa.select(Activity.structure_id, month, Activity.mediator_id,
                  *[expression.label(name) for name, expression in profile.items()],
                  sa.func.count().label("accompaniments"))
        .select_from(Activity)
        .join(Participation, Participation.activity_id == Activity.id)
        .join(Beneficiary, Beneficiary.id == Participation.beneficiary_id)
        .where(condition, Beneficiary.counted_per_participation)
        .group_by(Activity.structure_id, month, Activity.mediator_id, *profile.values())
    )
    coop, coop_people = coop_selects(condition, month)
    return {
        ActivityRollup.__tablename__: activities,
        ThematiqueRollup.__tablename__: thematiques,
        BeneficiaryMonthRollup.__tablename__: beneficiaries,
        AnonymousProfileRollup.__tablename__: anonymous,
        ActivityProfileRollup.__tablename__: activity_profile_select(condition),
        CoopRollup.__tablename__: coop,
        CoopPersonRollup.__tablename__: coop_people,
    }


def activity_profile_select(condition) -> sa.Select:
    """The :class:`ActivityProfileRollup` rows of the activities matching ``condition``."""
    month = month_start(Activity.date).label("month")
    keys = (Activity.structure_id, month, Activity.mediator_id, Activity.type, Activity.place_type,
            Activity.duration_min.label("duration"))
    return (
        sa.select(*keys, sa.func.count().label("activities"),
                  sa.func.coalesce(sa.func.sum(Activity.participants_count), 0).label("accompaniments"),
                  sa.func.sum(sa.case((Activity.autonomie.is_not(None), 1), else_=0)).label("autonomie_given"),
                  sa.func.sum(sa.case((sa.func.json_array_length(Activity.materiel) > 0, 1), else_=0))
                  .label("materiel_given"))
        .where(condition).group_by(*keys)
    )


def activity_profile_of(activity: Activity) -> dict:
    """The :class:`ActivityProfileRollup` row of one activity (the same rule in Python)."""
    return {"type": activity.type, "place_type": activity.place_type, "duration": activity.duration_min,
            "activities": 1, "accompaniments": activity.participants_count or 0,
            "autonomie_given": int(activity.autonomie is not None),
            "materiel_given": int(bool(activity.materiel))}


def anonymous_profile_sql() -> dict[str, sa.ColumnElement]:
    """The profile of an anonymous person as :class:`AnonymousProfileRollup` stores it (column name →
    expression on ``beneficiaries``); :func:`anonymous_profile_of` is the same rule in Python."""
    return {
        "genre": sa.func.coalesce(Beneficiary.genre, Genre.NON_COMMUNIQUE.value),
        "tranche_age": sa.func.coalesce(Beneficiary.tranche_age, TrancheAge.NON_COMMUNIQUE.value),
        "statut_social": sa.func.coalesce(Beneficiary.statut_social, StatutSocial.NON_COMMUNIQUE.value),
        "commune_id": sa.func.coalesce(Beneficiary.residence_commune_id, 0),
    }


def anonymous_profile_of(beneficiary: Beneficiary) -> dict:
    return {
        "genre": beneficiary.genre or Genre.NON_COMMUNIQUE.value,
        "tranche_age": beneficiary.tranche_age or TrancheAge.NON_COMMUNIQUE.value,
        "statut_social": beneficiary.statut_social or StatutSocial.NON_COMMUNIQUE.value,
        "commune_id": beneficiary.residence_commune_id or 0,
    }


def _insert_aggregates(session: Session, where) -> None:
    selects = aggregate_selects(where)  # built once: constructing them costs more than running them
    for table in ROLLUP_TABLES:
        select = selects[table.name]
        columns = [c.name for c in select.selected_columns]
        session.execute(table.insert().from_select(columns, select))


# --- exactness check ----------------------------------------------------------------------------

def differences(session: Session, limit: int = 20) -> dict[str, list[tuple]]:
    """Rows where a rollup table and its defining aggregate disagree (empty dict: exact)."""
    session.flush()
    found: dict[str, list[tuple]] = {}
    for table in ROLLUP_TABLES:
        expected = aggregate_selects()[table.name].subquery()
        stored = sa.select(*[table.c[c.name] for c in expected.c]).subquery()
        only_expected = sa.select(expected).except_(sa.select(stored))
        only_stored = sa.select(stored).except_(sa.select(expected))
        rows = [("manquant",) + tuple(r) for r in session.execute(only_expected.limit(limit))]
        rows += [("en trop",) + tuple(r) for r in session.execute(only_stored.limit(limit))]
        if rows:
            found[table.name] = rows
    return found
