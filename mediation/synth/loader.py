"""Bulk loading of the synthetic data: PostgreSQL ``COPY`` (psycopg 3 ``cursor.copy``), SQLite
``executemany`` in one large transaction. Ids are allocated up front from ``max(id) + 1`` (the
tables are locked against other writers on PostgreSQL for the duration of the load) and the
sequences are moved past them at the end. Everything happens in the caller's transaction: a failure
leaves nothing behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from mediation.audit.services import record
from mediation.stats import rollups
from mediation.synth.generator import (
    COLUMNS,
    ID_TABLES,
    TABLES,
    Existing,
    Generator,
    SynthError,
    SynthOptions,
)


@dataclass
class SynthReport:
    options: SynthOptions
    counts: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    rollup_counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def seconds(self) -> float:
        return sum(self.timings.values())


class PostgresSink:
    def __init__(self, dbapi_connection) -> None:
        self.cursor = dbapi_connection.cursor()

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        with self.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            write = copy.write_row
            for row in rows:
                write(row)


class SqliteSink:
    def __init__(self, dbapi_connection) -> None:
        self.connection = dbapi_connection

    def write(self, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        marks = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"  # noqa: S608 - our table names
        self.connection.executemany(sql, rows)


def sqlite_bulk_pragmas(dbapi_connection) -> None:
    """Speed over durability for a bulk load on a connection we own (outside any transaction)."""
    dbapi_connection.execute("PRAGMA synchronous = OFF")
    dbapi_connection.execute("PRAGMA cache_size = -262144")  # 256 MiB
    dbapi_connection.execute("PRAGMA temp_store = MEMORY")


def _check_schema(connection: sa.Connection) -> None:
    """Every column we write exists, and every mandatory column without a default is written."""
    inspector = sa.inspect(connection)
    problems = []
    for table in TABLES:
        columns = {c["name"]: c for c in inspector.get_columns(table)}
        for name in COLUMNS[table]:
            if name not in columns:
                problems.append(f"{table}.{name} n'existe pas")
        for name, column in columns.items():
            if name not in COLUMNS[table] and not column["nullable"] and column.get("default") is None:
                problems.append(f"{table}.{name} est obligatoire et n'a pas de valeur par défaut")
    if problems:
        raise SynthError("Le schéma ne correspond pas au générateur (migrations à jour ?) : " + "; ".join(problems))


def _max_id(table: str) -> sa.Select:
    return sa.select(sa.func.coalesce(sa.func.max(sa.column("id")), 0)).select_from(sa.table(table))


def _existing(connection: sa.Connection) -> Existing:
    codes = {row[0] for row in connection.execute(sa.text(
        "SELECT DISTINCT CASE WHEN insee_code LIKE '97%' THEN substr(insee_code, 1, 3) "
        "ELSE substr(insee_code, 1, 2) END FROM communes"))}
    names = {row[0] for row in connection.execute(sa.text("SELECT name FROM territories"))}
    sirets = {row[0] for row in connection.execute(sa.text("SELECT siret FROM structures WHERE siret IS NOT NULL"))}
    return Existing(department_codes=codes, territory_names=names, sirets=sirets)


def _finish_postgres(connection: sa.Connection, generator: Generator) -> None:
    cursor = connection.connection.driver_connection.cursor()
    cursor.execute("DROP TABLE IF EXISTS synth_counts")
    cursor.execute("CREATE TEMP TABLE synth_counts (id integer PRIMARY KEY, n integer NOT NULL)")
    with cursor.copy("COPY synth_counts (id, n) FROM STDIN") as copy:
        for row in generator.beneficiary_counts():
            copy.write_row(row)
    cursor.execute("UPDATE beneficiaries b SET accompaniments_count = c.n FROM synth_counts c WHERE b.id = c.id")
    cursor.execute("DROP TABLE synth_counts")
    cursor.execute("DROP TABLE IF EXISTS synth_cases")
    cursor.execute(
        "CREATE TEMP TABLE synth_cases (id integer PRIMARY KEY, state varchar(40), paused_at timestamptz, "
        "closed_at timestamptz, closure_reason varchar(40), updated_at timestamptz, version integer)")
    with cursor.copy("COPY synth_cases FROM STDIN") as copy:
        for row in generator.case_states():
            copy.write_row(row)
    cursor.execute(
        "UPDATE cases c SET state = s.state, paused_at = s.paused_at, closed_at = s.closed_at, "
        "closure_reason = s.closure_reason, updated_at = s.updated_at, version = s.version "
        "FROM synth_cases s WHERE c.id = s.id")
    cursor.execute("DROP TABLE synth_cases")
    for table in ID_TABLES:
        sequence = connection.scalar(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table})
        if not sequence:
            continue
        last = connection.scalar(sa.text(f"SELECT last_value FROM {sequence}"))  # noqa: S608 - from the catalog
        top = connection.scalar(_max_id(table))
        if top > last:
            connection.execute(sa.text("SELECT setval(:s, :v)"), {"s": sequence, "v": top})


def _finish_sqlite(connection: sa.Connection, generator: Generator) -> None:
    raw = connection.connection.driver_connection
    raw.executemany("UPDATE beneficiaries SET accompaniments_count = ? WHERE id = ?",
                    ((n, beneficiary_id) for beneficiary_id, n in generator.beneficiary_counts()))
    raw.executemany(
        "UPDATE cases SET state = ?, paused_at = ?, closed_at = ?, closure_reason = ?, updated_at = ?, "
        "version = ? WHERE id = ?",
        ((state, paused, closed, reason, updated, version, case_id)
         for case_id, state, paused, closed, reason, updated, version in generator.case_states()))


def load(session: Session, options: SynthOptions, *, log: Callable[[str], None] | None = None,
         analyze: bool = True) -> SynthReport:
    """Generate and load everything in ``session``'s transaction (the caller commits)."""
    log = log or (lambda message: None)
    report = SynthReport(options)
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    started = time.perf_counter()
    _check_schema(connection)
    if postgres:
        connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
        locked = ", ".join(TABLES + tuple(t.name for t in rollups.ROLLUP_TABLES))
        connection.exec_driver_sql(f"LOCK TABLE {locked} IN SHARE ROW EXCLUSIVE MODE")
    next_ids = {t: connection.scalar(_max_id(t)) + 1 for t in ID_TABLES}
    raw = connection.connection.driver_connection
    sink = PostgresSink(raw) if postgres else SqliteSink(raw)
    generator = Generator(options, next_ids, _existing(connection), sink=sink, log=log,
                          timestamp_suffix="+00" if postgres else ".000000")
    generator.run()
    report.counts = dict(generator.counts)
    report.timings["génération et chargement"] = time.perf_counter() - started

    step = time.perf_counter()
    (_finish_postgres if postgres else _finish_sqlite)(connection, generator)
    report.timings["compteurs et états des dossiers"] = time.perf_counter() - step

    step = time.perf_counter()
    report.rollup_counts = rollups.rebuild(session)
    report.timings["agrégats (rollups)"] = time.perf_counter() - step

    record(session, "synth.loaded", details={
        "accompaniments": options.accompaniments, "seed": options.seed, "months": options.months,
        "end": generator.end.isoformat(), "territories": options.resolved_territories(),
        "rows": report.counts,
    })
    if analyze:
        step = time.perf_counter()
        for table in TABLES + tuple(t.name for t in rollups.ROLLUP_TABLES):
            connection.exec_driver_sql(f"ANALYZE {table}")
        report.timings["statistiques du planificateur"] = time.perf_counter() - step
    session.flush()
    return report
