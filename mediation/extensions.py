"""Flask extensions, created once and bound in ``create_app``."""

from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql.dml import UpdateBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# ``session.info`` keys of the read routing below (set by mediation.replica).
READ_BIND = "mediation.read_bind"  # the engine a read-only block reads from (a streaming replica)
READ_BIND_WROTE = "mediation.read_bind_wrote"  # the block wrote: its later reads go to the primary
FLUSHED = "mediation.flushed"  # the session wrote something since this flag was last popped (see note_write)
# The tables whose rows the session's flushes wrote since this set was last popped (mediation.replica:
# signing in writes only accounts, sessions and the audit log, which no figure counts).
WRITTEN_TABLES = "mediation.written_tables"


class Session(FlaskSession):
    """``db.session``: every statement goes to the primary database, except the reads of a block
    that :mod:`mediation.replica` routes to a streaming replica (``info[READ_BIND]``, set by
    ``reads_from_replica`` views and by reports). Writes — a flush, an INSERT/UPDATE/DELETE, a
    ``SELECT … FOR UPDATE`` — always go to the primary, and once the block has written, its reads
    go there too, so that it sees its own writes."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        replica = self.info.get(READ_BIND)
        if replica is not None and bind is None and not self.info.get(READ_BIND_WROTE):
            if self._flushing or isinstance(clause, UpdateBase) or getattr(clause, "_for_update_arg", None):
                self.info[READ_BIND_WROTE] = True
            else:
                return replica
        return super().get_bind(mapper, clause=clause, bind=bind, **kwargs)


def note_write(session) -> None:
    """The session's transaction writes: a flush did, or a statement or an event that its commit
    writes without a flush (the audit event the seal inserts). mediation.replica then keeps this
    browser's reads on the primary until the replica has replayed the commit; and in a block whose
    reads go to a replica, what follows goes to the primary (the seal's statements too)."""
    session.info[FLUSHED] = True
    if session.info.get(READ_BIND) is not None:
        session.info[READ_BIND_WROTE] = True


@event.listens_for(Session, "after_flush")
def _note_flush(session, _context) -> None:
    note_write(session)


db = SQLAlchemy(model_class=Base, session_options={"class_": Session})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


# psycopg converts a statement's ``%(name)s`` placeholders by parsing it, and remembers the result
# only for statements of at most 4096 characters and 50 parameters; above, it parses the text again
# on every execution (a regular expression over the whole statement). The few long statements of
# the write paths — a new activity with its people in one statement, the rollups' upserts — are
# executed again and again with the same text: remembered too. The cache stays bounded (128
# statements, psycopg's LRU). No effect if psycopg renames these settings.
PSYCOPG_CACHED_STATEMENT_LENGTH = 16384
PSYCOPG_CACHED_STATEMENT_PARAMS = 400


def configure_psycopg() -> None:
    try:
        from psycopg import _queries
    except ImportError:  # pragma: no cover - SQLite only
        return
    for name, value in (("MAX_CACHED_STATEMENT_LENGTH", PSYCOPG_CACHED_STATEMENT_LENGTH),
                        ("MAX_CACHED_STATEMENT_PARAMS", PSYCOPG_CACHED_STATEMENT_PARAMS)):
        if isinstance(getattr(_queries, name, None), int):
            setattr(_queries, name, max(getattr(_queries, name), value))


def configure_sqlite(engine) -> None:
    """SQLite as a real transactional database: foreign keys enforced, WAL for concurrent readers,
    and BEGIN/SAVEPOINT handled by SQLAlchemy rather than by the sqlite3 module."""
    import sqlalchemy as sa

    from mediation.search import register_sqlite_function

    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 5000")
        register_sqlite_function(dbapi_connection)
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def on_begin(connection):
        # A request that writes takes the write lock up front (waiting up to busy_timeout): a
        # deferred BEGIN that reads then writes fails at once in WAL mode if another writer came
        # in between ("database is locked"), which would turn concurrent saves into errors.
        from flask import has_request_context, request

        writes = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


@event.listens_for(Session, "before_flush")
def _note_flushed_tables(session, _context, _instances) -> None:
    written = session.info.setdefault(WRITTEN_TABLES, set())
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(instance, "__tablename__", None)
        if table is not None:
            written.add(table)


@event.listens_for(Session, "do_orm_execute")
def _note_statement_table(state) -> None:
    """An INSERT, UPDATE or DELETE run through the session (``session.execute``) writes its table."""
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        name = getattr(table, "name", None)
        if name is not None:
            state.session.info.setdefault(WRITTEN_TABLES, set()).add(name)
