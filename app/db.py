"""The async engine and its sessions. Services never commit; the request or job does, once."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import orjson
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import ORMExecuteState, Session
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.sql.schema import Table

from app.settings import Settings

T = TypeVar("T")

#: Rows or keys per statement when a request carries thousands (an alert
#: storm). PostgreSQL's protocol takes at most 32,767 bound values per
#: statement and SQLite 32,766; a ``(a, b) IN (…)`` list of some thousand
#: tuples also exhausts PostgreSQL's stack depth. 500 keys of 3 values, or
#: 500 rows of 16 columns, stay far below all three.
CHUNK = 500


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    """``items`` in slices of at most ``size``, in order."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _NoValues(logging.Filter):
    """Drops a database logger's DEBUG records: they carry values (result rows;
    aiosqlite's every statement with its parameters), and phone numbers are
    among them. Statements stay, logged at INFO without their parameters
    (``hide_parameters``), and so do errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_NO_VALUES = _NoValues()
for _name in ("sqlalchemy.engine.Engine", "aiosqlite"):
    logging.getLogger(_name).addFilter(_NO_VALUES)  # adds it once, however often called


def make_engine(settings: Settings) -> AsyncEngine:
    if settings.is_sqlite:
        return _make_sqlite_engine(settings.database_url)
    return create_async_engine(
        settings.database_url,
        # Parameters are people's phone numbers and names: never in a log line
        # (INFO on sqlalchemy.engine) nor in an error's text.
        hide_parameters=True,
        # Every connection opened is kept: with an overflow, those opened past
        # pool_size for a burst were closed as they came back, so each burst
        # past it paid connects again (tests/ingest/test_connection_reuse.py).
        pool_size=settings.db_pool_size,
        max_overflow=0,
        # Client-side bounds (a frozen server answers nothing, so its own
        # statement_timeout never fires): the wait for a pooled connection, a
        # new connection, and each statement, COMMIT and ROLLBACK included.
        # A request's whole database time is bounded above these, in
        # app/deadline.py.
        pool_timeout=settings.db_pool_timeout,
        pool_pre_ping=False,
        connect_args={
            "timeout": settings.db_connect_timeout,
            "command_timeout": settings.db_statement_timeout,
        },
        # Labels and annotations are JSON columns: orjson reads them several
        # times faster (an incident of thousands of alerts, every ingest).
        json_deserializer=orjson.loads,
    )


def _make_sqlite_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    # SQLite allows one writer. A deferred transaction that reads and then
    # writes can fail with "database is locked" at once, busy timeout or not,
    # so every transaction takes the write lock up front (readers still
    # proceed in WAL mode).
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if outside_transaction(conn):
            return  # a read of its own (reading()): autocommit, no lock taken
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


#: Execution option of a connection from :func:`reading` on SQLite.
_OUTSIDE_TRANSACTION = "klaxon_outside_transaction"


def outside_transaction(conn: Any) -> bool:
    """Whether a (sync) connection is one of :func:`reading`'s."""
    options = conn.get_execution_options()
    return bool(options.get(_OUTSIDE_TRANSACTION) or options.get("isolation_level") == "AUTOCOMMIT")


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """asyncpg's own connection under ``conn`` (PostgreSQL), for statements of
    thousands of rows or parameters that skip SQLAlchemy's work on each: the
    repeat statements of ingest, an incident's alerts."""
    raw = (await conn.get_raw_connection()).driver_connection
    assert raw is not None
    return raw


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose statements run outside any transaction: one round
    trip a read, no BEGIN and no ROLLBACK (PostgreSQL's autocommit), and on
    SQLite no write lock (which every transaction takes up front, above).
    For reads that need no snapshot across statements, such as the worker's
    look for due work twice a second (app/timers/due.py)."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            yield await conn.execution_options(isolation_level="AUTOCOMMIT")
        else:
            yield await conn.execution_options(**{_OUTSIDE_TRANSACTION: True})


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


class WriteOutsideTransaction(RuntimeError):
    """A write through a read-only session: a bug of the code that wrote, which
    must fail loudly (a 500) rather than be rolled back unseen behind a 2xx."""


class ReadOnlySession(Session):
    """The session a handler gets without the ``Transaction`` dependency
    (``app.deps.get_session``). Nothing would ever commit what it wrote, so an
    INSERT, UPDATE or DELETE it is asked to run, or a flush of changed objects,
    raises :class:`WriteOutsideTransaction` instead. The check is one attribute
    test per statement, in the process: no round trip, on either backend."""


@event.listens_for(ReadOnlySession, "do_orm_execute")
def _refuse_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise WriteOutsideTransaction(
            f"{state.statement.__class__.__name__.upper()} through a read-only session:"
            " a handler that writes takes the Transaction dependency (app/deps.py)"
        )


@event.listens_for(ReadOnlySession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    raise WriteOutsideTransaction(
        "flush through a read-only session: a handler that writes takes the"
        " Transaction dependency (app/deps.py)"
    )


@asynccontextmanager
async def read_only(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """A session of ``maker`` that refuses writes (:class:`ReadOnlySession`)."""
    async with maker(sync_session_class=ReadOnlySession) as session:
        yield session


async def session_scope(maker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with maker() as session:
        yield session


async def read_done(session: AsyncSession, read: Awaitable[T]) -> T:
    """What ``read`` (a read through ``session``) returns, the session's
    transaction then ended: a handler that calls out next (Slack, Mattermost)
    holds no connection, nor SQLite's write lock, across the call."""
    try:
        return await read
    finally:
        await session.rollback()  # only reads to end: a read-only session


def dialect_name(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert_for(session: AsyncSession, table: Table) -> postgresql.Insert | sqlite.Insert:
    """An INSERT of the session's dialect, which has ``on_conflict_do_*``."""
    if dialect_name(session) == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


# PostgreSQL's data exceptions that only the values a request sent can cause
# (SQLite stores such values as they are): the request is refused with a 422
# saying what is wrong, instead of a 500.
_REFUSED_VALUES = {
    "22021": "a text contains a NUL character (\\u0000), which cannot be stored",
    "22P05": "a text contains a NUL character (\\u0000), which cannot be stored",
    "22001": "a text is longer than its field allows",
    "22003": "a number is out of range",
}


def refused_value(exc: Exception) -> str | None:
    """What is wrong with a value the database refused, when that is the error
    (a SQLAlchemy error, or asyncpg's own from a statement run on the driver)."""
    orig = exc.orig if isinstance(exc, DBAPIError) else exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return _REFUSED_VALUES.get(code) if isinstance(code, str) else None


# SQLite reports a busy or unreachable database file, and a statement it
# cannot run (too many bound values, a syntax error), with one exception type.
_SQLITE_UNAVAILABLE = ("locked", "busy", "unable to open", "disk i/o", "readonly")


def is_unavailable(exc: BaseException) -> bool:
    """Whether a database error means "try again later" rather than a bug of ours.

    Connection failures and timeouts, and on PostgreSQL deadlocks, serialization
    failures and a server shutting down. A statement the driver refuses (too
    many bound values, say) is a bug of ours: retrying it cannot help.
    """
    if isinstance(exc, OperationalError) and _is_sqlite_error(exc.orig):
        return any(word in str(exc.orig).lower() for word in _SQLITE_UNAVAILABLE)
    if isinstance(exc, OperationalError | TimeoutError | ConnectionError | OSError):
        return True
    if _is_unavailable_driver_error(exc):  # asyncpg, when used directly
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
        if isinstance(code, str) and code[:2] in {"08", "40", "53", "57"}:
            return True
        cause = exc.orig.__cause__ if exc.orig is not None else None
        if isinstance(cause, OSError | ConnectionError | TimeoutError):
            return True
        return cause is not None and _is_unavailable_driver_error(cause)
    return False


def _is_sqlite_error(orig: BaseException | None) -> bool:
    return orig is not None and type(orig).__module__.startswith("sqlite3")


_UNAVAILABLE_DRIVER_ERRORS = {
    "ConnectionDoesNotExistError",
    "CannotConnectNowError",
    "AdminShutdownError",
    "DeadlockDetectedError",
    "SerializationError",
    "ConnectionFailureError",
    "TooManyConnectionsError",
}


def _is_unavailable_driver_error(exc: BaseException) -> bool:
    name = type(exc).__name__
    if name in _UNAVAILABLE_DRIVER_ERRORS:
        return True
    if name == "InterfaceError":
        # asyncpg's: a closed connection ("connection is closed"), or a
        # statement it refuses to send ("the number of query arguments
        # cannot exceed 32767"), which no retry can fix.
        return "closed" in str(exc)
    code = getattr(exc, "sqlstate", None)
    return isinstance(code, str) and code[:2] in {"08", "40", "53", "57"}
