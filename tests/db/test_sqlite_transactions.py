"""SQLite transactions: readers never take the write lock; writers wait a bounded time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from factories import make_settings
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from failcast.db.engine import Database, begin_writing, is_read_only
from failcast.errors import is_store_busy


@pytest.fixture
async def database(tmp_path: Path) -> Database:
    db = Database(make_settings(data_dir=tmp_path, sqlite_busy_timeout=timedelta(seconds=0.2)))
    async with db.session() as session:
        await session.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)"))
        await session.execute(text("INSERT INTO t (v) VALUES (1)"))
        await session.commit()
    return db


def test_statements_are_classified_as_reads_or_writes() -> None:
    assert is_read_only("SELECT 1")
    assert is_read_only("  pragma user_version")
    assert is_read_only("WITH x AS (SELECT 1) SELECT * FROM x")
    assert not is_read_only("WITH x AS (SELECT 1) INSERT INTO t (v) SELECT * FROM x")
    assert not is_read_only("INSERT INTO t (v) VALUES (2)")
    assert not is_read_only("UPDATE t SET v = 2")
    assert not is_read_only("SAVEPOINT sa_1")


async def test_an_open_read_does_not_block_a_writer(database: Database) -> None:
    async with database.session() as reader, database.session() as writer:
        assert (await reader.execute(text("SELECT v FROM t"))).scalar_one() == 1
        # The reader's transaction is still open; the writer goes ahead without waiting.
        await writer.execute(text("UPDATE t SET v = 2"))
        await writer.commit()
        await reader.rollback()
    await database.dispose()


async def test_a_read_then_write_transaction_writes_after_another_writer(
    database: Database,
) -> None:
    async with database.session() as first, database.session() as second:
        assert (await first.execute(text("SELECT v FROM t"))).scalar_one() == 1
        await second.execute(text("UPDATE t SET v = 2"))
        await second.commit()
        # Upgrading `first`'s stale snapshot would fail at once; it takes the lock instead.
        await first.execute(text("UPDATE t SET v = v + 10"))
        await first.commit()
    async with database.session() as check:
        assert (await check.execute(text("SELECT v FROM t"))).scalar_one() == 12
    await database.dispose()


async def test_a_held_write_lock_makes_another_writer_busy_not_wait_forever(
    database: Database,
) -> None:
    async with database.session() as holder, database.session() as other:
        await holder.execute(text("UPDATE t SET v = 3"))
        # Reads still answer while the write lock is held.
        assert (await other.execute(text("SELECT v FROM t"))).scalar_one() == 1
        with pytest.raises(OperationalError) as raised:
            await other.execute(text("UPDATE t SET v = 4"))
        assert is_store_busy(raised.value)
        await other.rollback()
        await holder.commit()
    await database.dispose()


async def test_taking_the_write_lock_ahead_of_raw_writes_is_busy_the_same_way(
    database: Database,
) -> None:
    # The embedded store takes the lock before it writes through the driver's own
    # executemany; a held lock must surface as the same busy error (a 503), not a bare
    # driver error (a 500).
    async with database.session() as holder, database.session() as other:
        await holder.execute(text("UPDATE t SET v = 3"))
        with pytest.raises(OperationalError) as raised:
            await begin_writing(await other.connection())
        assert is_store_busy(raised.value)
        await other.rollback()
        await holder.commit()
    await database.dispose()


async def test_a_session_whose_connection_was_invalidated_closes_cleanly(
    database: Database,
) -> None:
    # What a request cancelled in the middle of a statement leaves behind.
    async with database.session() as session:
        await session.execute(text("SELECT v FROM t"))
        connection = await session.connection()
        await connection.invalidate()
    async with database.session() as session:
        assert (await session.execute(text("SELECT v FROM t"))).scalar_one() == 1
    await database.dispose()
