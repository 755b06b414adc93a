"""Small shared column types and helpers used by every domain's models."""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from datetime import UTC, date, datetime
from types import MappingProxyType
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles

# The time zone of the people using the service: the dates they write and read are French dates,
# whatever the server's own time zone (often UTC): between 23:00 and midnight UTC it is already
# tomorrow in Paris.
LOCAL_TIMEZONE = ZoneInfo("Europe/Paris")


# Storage parameters of the tables the statistics read through index-only scans (the rollups, the
# profile index of the people counted once, the participations' unique key). Such a scan skips the
# table only for pages the visibility map marks « all visible », and every write clears that mark
# on its page until a VACUUM sets it again. With PostgreSQL's defaults (a VACUUM after 20 % of the
# rows changed or inserted) a large rollup table can stay unmarked for days of activity, and each
# row read then costs a table page as well: after 30 rolled-back refreshes of random cells, the
# national programme's people (54,000 rollup rows) read 36,000 table pages, p50 231 → 272 ms at
# 1 million accompaniments. Here autovacuum runs after 1 % (docs/operations.md; migration 0036).
INDEX_ONLY_AUTOVACUUM = MappingProxyType({"autovacuum_vacuum_scale_factor": "0.01",
                                          "autovacuum_vacuum_insert_scale_factor": "0.01"})


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_paris(value: datetime) -> datetime:
    """A stored datetime (UTC; naive ones are read as UTC) in the service's time zone."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TIMEZONE)


def local_today() -> date:
    """Today's date in France (use it instead of ``date.today()``, the server's date)."""
    return datetime.now(LOCAL_TIMEZONE).date()


class UTCDateTime(sa.types.TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: use mediation.types.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class LabelledEnum(enum.StrEnum):
    """String enum whose members carry the French label users know.

    ``Role.ADMIN == "admin"`` and ``Role.ADMIN.label == "Administrateur"``.
    """

    def __new__(cls, value: str, label: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.label = label
        return obj

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The label of a value (or member); an unknown value as it is; None as ""."""
        if value is None:
            return ""
        return _labels_of(cls).get(value, value)

    @classmethod
    def labels(cls) -> Mapping[str, str]:
        """{value: label}, built once per enum (a member is its value as a key too): what
        :meth:`label_of` reads, for code that labels many values (the rows of an export)."""
        return _labels_of(cls)


@functools.cache
def _labels_of(enum_cls: type[LabelledEnum]) -> Mapping[str, str]:
    return MappingProxyType({member.value: member.label for member in enum_cls})  # shared: read-only


def enum_column(enum_cls: type[enum.Enum], length: int = 40) -> sa.Enum:
    """Enums are stored as their readable value (``"mediator"``), never as integers."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class local_day(sa.sql.functions.GenericFunction):
    """The French calendar day (Europe/Paris) of a stored UTC timestamp, as a date, in SQL: a
    referral made at 0:30 in Paris is made that day, not the day before as its UTC day says."""

    type = sa.Date()
    name = "local_day"
    inherit_cache = True


@compiles(local_day, "postgresql")
def _local_day_pg(element, compiler, **kw):
    return f"CAST(({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'Europe/Paris' AS DATE)"


@compiles(local_day, "sqlite")
def _local_day_sqlite(element, compiler, **kw):
    # SQLite knows no time zones: the French offset is computed from the EU rule (summer time, UTC+2,
    # from the last Sunday of March to the last Sunday of October at 1:00 UTC; UTC+1 otherwise).
    moment = f"datetime({compiler.process(element.clauses, **kw)})"
    year = f"strftime('%Y', {moment})"
    summer = (f"{moment} >= datetime({year} || '-03-25', 'weekday 0', '+1 hours') "
              f"AND {moment} < datetime({year} || '-10-25', 'weekday 0', '+1 hours')")
    return f"date({moment}, CASE WHEN {summer} THEN '+2 hours' ELSE '+1 hours' END)"


class in_keys(sa.sql.expression.ColumnElement):  # noqa: N801 - used like a function, as local_day
    """``column IN (SELECT …)``, written ``column = ANY(ARRAY(SELECT …))`` on PostgreSQL.

    Inside an ``OR`` (a mediator sees their structures' activities OR those they logged), an
    ``IN (subquery)`` is a hashed filter that PostgreSQL can only apply row by row: the whole table
    was read (10 million accompaniments: 1.1 s for a mediator's list). An array computed once
    (an InitPlan) is an index condition, so both sides of the ``OR`` use their indexes (42 ms).
    SQLite keeps ``IN``."""

    inherit_cache = True
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a condition already (no « = 1 » added on SQLite)
    _traverse_internals = [("column", sa.sql.visitors.InternalTraversal.dp_clauseelement),
                           ("select", sa.sql.visitors.InternalTraversal.dp_clauseelement)]

    def __init__(self, column, select: sa.Select):
        self.column = column
        self.select = select


@compiles(in_keys)
def _in_keys(element, compiler, **kw):
    return compiler.process(element.column.in_(element.select), **kw)


@compiles(in_keys, "postgresql")
def _in_keys_pg(element, compiler, **kw):
    return compiler.process(element.column == sa.any_(sa.func.array(element.select.scalar_subquery())), **kw)


class _IdArray(sa.types.UserDefinedType):
    """A list of integer keys written as an array constant: ``'{1,2,3}'::INTEGER[]``."""

    cache_ok = True

    def literal_processor(self, dialect):
        def process(ids):
            return "'{" + ",".join(str(int(i)) for i in ids) + "}'::INTEGER[]"  # int(): nothing but digits

        return process


class in_ids(sa.sql.expression.ColumnElement):  # noqa: N801 - used like a function, as in_keys
    """``column IN (1, 2, …)`` for a list of integer keys (a scope's structures and mediators, a
    batch of an export), written ``column = ANY('{1,2,…}'::INTEGER[])`` on PostgreSQL: one array
    constant instead of one bound parameter per key. Hundreds of keys rendered and parsed as
    placeholders cost SQLAlchemy and psycopg about as much as the query itself (an export of
    44 000 activities: a fifth of its time; a programme of 200 posts: 1.5 ms per statement, 39
    statements). A constant, not an array parameter: the planner costs every plan with the real
    list, also when a statement executed often gets a generic plan. SQLite keeps ``IN``."""

    inherit_cache = True
    type = sa.Boolean()
    _is_implicitly_boolean = True  # a condition already (no « = 1 » added on SQLite)
    _traverse_internals = [("column", sa.sql.visitors.InternalTraversal.dp_clauseelement),
                           ("ids", sa.sql.visitors.InternalTraversal.dp_clauseelement)]

    def __init__(self, column, ids):
        from sqlalchemy.sql import coercions, roles

        self.column = coercions.expect(roles.ExpressionElementRole, column)
        self._propagate_attrs = self.column._propagate_attrs  # an ORM attribute stays an ORM statement
        # One bound value whatever the length: the statement is cached once for every list.
        self.ids = sa.bindparam(None, list(ids), expanding=True)

    @property
    def _from_objects(self):
        return self.column._from_objects


@compiles(in_ids)
def _in_ids(element, compiler, **kw):
    return compiler.process(element.column.in_(element.ids), **kw)


@compiles(in_ids, "postgresql")
def _in_ids_pg(element, compiler, **kw):
    constant = element.ids._clone()  # same key: the values of each execution still reach it
    constant.expanding, constant.literal_execute, constant.type = False, True, _IdArray()
    return compiler.process(element.column == sa.any_(constant), **kw)


class bytewise(sa.sql.expression.ColumnElement):  # noqa: N801 - used like a function, as local_day
    """A text column compared byte by byte: ``column COLLATE "C"`` on PostgreSQL, for the sorts of
    a ``DISTINCT``/``UNION``/``GROUP BY`` that only need equality. The database's collation
    (``C.UTF-8``, ``fr_FR``…) compares through ``strcoll`` and without abbreviated keys: sorting
    the 150,000 rows of a year's people (« Statistiques », 1 million accompaniments) took most of
    the page. Equality is the same (collations are deterministic: equal means same bytes), so
    groups do not change; only the order of the rows, which such queries do not use. SQLite
    compares bytes already (``BINARY``): the column as it is."""

    inherit_cache = True
    _traverse_internals = [("column", sa.sql.visitors.InternalTraversal.dp_clauseelement)]

    def __init__(self, column):
        self.column = column
        self.type = column.type


@compiles(bytewise)
def _bytewise(element, compiler, **kw):
    return compiler.process(element.column, **kw)


@compiles(bytewise, "postgresql")
def _bytewise_pg(element, compiler, **kw):
    return compiler.process(sa.collate(element.column, "C"), **kw)
