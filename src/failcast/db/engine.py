"""The async engine for the configured store, and the session factory bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from failcast.config import Settings

# The session's staging table for bulk sample writes on PostgreSQL (store/samples.py): binary
# COPY into it, then one INSERT ... ON CONFLICT from it. Created when a connection opens, so a
# batch does not pay a statement for it, and outside any transaction a rollback could undo.
STAGING_TABLE = "sample_incoming"
STAGING_COLUMNS = ["series_id", "ts", "value"]
_CREATE_STAGING = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING_TABLE} "
    "(series_id integer, ts bigint, value double precision) ON COMMIT DELETE ROWS"
)


def _sqlite_pragmas(synchronous: str) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets the dashboard read while ingestion writes; FULL makes an acknowledged
        # batch survive a power cut, not just a crash of the process.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
        # Transactions are begun explicitly (see `_begin_immediate`), not by the driver.
        dbapi_connection.isolation_level = None

    return on_connect


def _begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads and then writes fails at once with SQLITE_BUSY when
    # another connection wrote in between; taking the write lock up front makes it wait its
    # turn (busy_timeout) instead. Transactions are short, so serialising them costs little.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


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
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas(settings.sqlite_synchronous))
        event.listen(engine.sync_engine, "begin", _begin_immediate)
        return engine
    engine = create_async_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    event.listen(engine.sync_engine, "connect", _create_staging)
    return engine


class Database:
    """Owns the engine and hands out sessions; one per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = create_engine(settings)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()
