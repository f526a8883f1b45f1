"""Daily sample partitions on PostgreSQL: created ahead, backfills folded out of the default
partition, whole days dropped past retention."""

from __future__ import annotations

import asyncio

from factories import make_settings
from scaleout_env import fresh_postgres
from sqlalchemy import text

from failcast.db.engine import Database
from failcast.db.migrate import upgrade
from failcast.jobs.maintenance import StoreJobs
from failcast.models import Organization, Series, Service
from failcast.store.partitions import DAY_MS, day_of, partition_days, partition_name
from failcast.store.samples import write_samples
from failcast.timeutil import now_ms

__all__ = ["fresh_postgres"]

TODAY = day_of(now_ms())


async def _count(database: Database, table: str) -> int:
    async with database.session() as session:
        return int(await session.scalar(text(f"SELECT count(*) FROM {table}")) or 0)


async def test_partitions_move_ahead_and_expire(fresh_postgres: str) -> None:
    settings = make_settings(database_url=fresh_postgres, sample_retention="P5D")
    await asyncio.to_thread(upgrade, settings)
    database = Database(settings)
    try:
        async with database.session() as session:
            assert await partition_days(session) == [TODAY + k * DAY_MS for k in range(-1, 4)]
            org = Organization(name="p", slug="p")
            session.add(org)
            await session.flush()
            service = Service(org_id=org.id, name="api")
            session.add(service)
            await session.flush()
            series = Series(
                org_id=org.id, service_id=service.id, metric="m", labels={}, labels_key="[]"
            )
            session.add(series)
            await session.flush()
            rows = [(series.id, TODAY - days * DAY_MS + 5, float(days)) for days in (10, 3, 0)]
            await write_samples(session, rows)
            await session.commit()
        # Ten and three days ago have no partition: those rows wait in the default one.
        assert await _count(database, "sample_partitions.sample_default") == 2

        report = await StoreJobs(database, settings, clock=lambda: now_ms()).partitions()
        assert report.created == [partition_name(TODAY - 3 * DAY_MS)]
        assert report.dropped == []
        assert report.expired_default_rows == 1  # ten days old, past five days' retention
        assert await _count(database, "sample_partitions.sample_default") == 0
        three_days_ago = f"sample_partitions.{partition_name(TODAY - 3 * DAY_MS)}"
        assert await _count(database, three_days_ago) == 1
        assert await _count(database, "sample") == 2

        # Four days later: the day past retention goes whole, partitions keep three days ahead.
        later = TODAY + 4 * DAY_MS
        report = await StoreJobs(database, settings, clock=lambda: later + 1000).partitions()
        assert report.dropped == [partition_name(TODAY - 3 * DAY_MS)]
        async with database.session() as session:
            days = await partition_days(session)
        assert days == [TODAY + k * DAY_MS for k in range(-1, 8)]
        assert await _count(database, "sample") == 1
    finally:
        await database.dispose()
