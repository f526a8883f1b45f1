"""The async engine for the configured store, and the session factory bound to it."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

from sqlalchemy import Connection, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from failcast.config import Settings

# The key under which a session's `info` carries the metrics engine, when one is configured.
METRICS_INFO_KEY = "failcast.metrics_backend"

# The session's staging table for bulk sample writes on PostgreSQL (store/samples.py): binary
# COPY into it, then one INSERT ... ON CONFLICT from it. Created when a connection opens, so a
# batch does not pay a statement for it, and outside any transaction a rollback could undo.
STAGING_TABLE = "sample_incoming"
STAGING_COLUMNS = ["series_id", "ts", "value"]
_CREATE_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} "
    "(series_id integer, ts bigint, value double precision) ON COMMIT DELETE ROWS"
)


def _sqlite_pragmas(synchronous: str, busy_timeout_ms: int) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the dashboard read while ingestion writes; FULL makes an acknowledged
        # batch survive a power cut, not just a crash of the process.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # A writer waits this long for the lock, then fails with "database is locked", which
        # the API answers with 503 and Retry-After (errors.py) and background jobs retry.
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()
        # Transactions are begun explicitly (see `_begin_on_first_statement`), not by the driver.
        dbapi_connection.isolation_level = None

    return on_connect


# Where a SQLite connection's transaction stands, kept in the connection's `info`.
_TX_STATE = "failcast.sqlite_tx"
_PENDING, _READING, _WRITING = "pending", "reading", "writing"
_READ_ONLY = frozenset({"SELECT", "PRAGMA", "EXPLAIN", "VALUES"})
_WRITE_WORD = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def is_read_only(statement: str) -> bool:
    """Whether a SQL statement only reads (a CTE counts as a write if it writes anywhere)."""
    words = statement.lstrip().split(None, 1)
    if not words:
        return True
    first = words[0].upper()
    if first == "WITH":
        return _WRITE_WORD.search(statement) is None
    return first in _READ_ONLY


def _mark_pending(connection: Any) -> None:
    # No BEGIN yet: the first statement decides which kind of transaction this is.
    connection.info[_TX_STATE] = _PENDING


def _begin_on_first_statement(
    connection: Any, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
) -> tuple[str, Any]:
    """Begin reads deferred and writes IMMEDIATE, so that only writers take the write lock.

    A reader never blocks anyone (WAL). A transaction that starts by writing takes the lock up
    front and waits its turn (busy_timeout). One that reads and then writes ends its read
    snapshot and takes the lock before its first write: upgrading the snapshot in place would
    fail at once, without waiting, whenever another connection wrote in between. The reads
    before the first write therefore see a snapshot that may be older than the write, which is
    what PostgreSQL's READ COMMITTED, the other store, gives every statement anyway.
    """
    state = connection.info.get(_TX_STATE)
    if state == _PENDING:
        reading = is_read_only(statement)
        cursor.execute("BEGIN" if reading else "BEGIN IMMEDIATE")
        connection.info[_TX_STATE] = _READING if reading else _WRITING
    elif state == _READING and not is_read_only(statement):
        cursor.execute("COMMIT")
        cursor.execute("BEGIN IMMEDIATE")
        connection.info[_TX_STATE] = _WRITING
    return statement, parameters


def _take_write_lock(connection: Connection) -> None:
    state = connection.info.get(_TX_STATE)
    if state in (_PENDING, _READING):
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            _begin_on_first_statement(connection, cursor, "INSERT", None, None, False)
        except sqlite3.Error as exc:
            # On the driver's cursor, outside SQLAlchemy's execution: wrapped here as
            # SQLAlchemy wraps a statement's error, so a held lock is the same busy error.
            raise DBAPIError.instance(
                "BEGIN IMMEDIATE", None, exc, sqlite3.Error, connection_invalidated=False
            ) from exc
        finally:
            cursor.close()


async def begin_writing(connection: AsyncConnection) -> None:
    """Make the connection's transaction a writing one before writes that bypass SQLAlchemy
    (the driver's own executemany), which SQLite would otherwise run outside it."""
    if connection.dialect.name == "sqlite":
        await connection.run_sync(_take_write_lock)


def _mark_ended(connection: Any) -> None:
    # An invalidated connection (its request was cancelled mid-statement) has no usable info
    # until it is rolled back; the next "begin" resets the state anyway.
    if connection.invalidated or connection.closed:
        return
    connection.info.pop(_TX_STATE, None)


def _create_staging(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(_CREATE_STAGING)
    cursor.close()
    dbapi_connection.commit()


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_size=8, max_overflow=8)
        busy_ms = round(settings.sqlite_busy_timeout.total_seconds() * 1000)
        pragmas = _sqlite_pragmas(settings.sqlite_synchronous, busy_ms)
        event.listen(engine.sync_engine, "connect", pragmas)
        event.listen(engine.sync_engine, "begin", _mark_pending)
        event.listen(
            engine.sync_engine, "before_cursor_execute", _begin_on_first_statement, retval=True
        )
        event.listen(engine.sync_engine, "commit", _mark_ended)
        event.listen(engine.sync_engine, "rollback", _mark_ended)
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    event.listen(engine.sync_engine, "connect", _create_staging)
    return engine


class MetricsEngine(Protocol):
    """Where samples live when not in this database (store.remote.RemoteSamples)."""

    async def aclose(self) -> None: ...


class Database:
    """Owns the engine and hands out sessions; one per process.

    Samples go to a metrics engine when one is given (store.remote.open_database gives the
    configured one); every session carries it in its `info`, where the store's entry points
    look (store/samples.py)."""

    def __init__(self, settings: Settings, metrics: MetricsEngine | None = None) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.metrics = metrics
        info = {METRICS_INFO_KEY: metrics} if metrics is not None else None
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, info=info)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def dispose(self) -> None:
        if self.metrics is not None:
            await self.metrics.aclose()
        await self.engine.dispose()
