"""The store's bulk path, used directly as the simulator and other internal writers do."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import func, select

from failcast.db.engine import Database
from failcast.deps import services_of
from failcast.models import Organization, Sample, Series, Service
from failcast.store.samples import write_sample_columns, write_samples


async def one_series(database: Database) -> int:
    """An org with one service and one series; returns the series id."""
    async with database.session() as session:
        org = Organization(name="o", slug="o")
        session.add(org)
        await session.flush()
        service = Service(org_id=org.id, name="s")
        session.add(service)
        await session.flush()
        series = Series(
            org_id=org.id, service_id=service.id, metric="m", labels={}, labels_key="[]"
        )
        session.add(series)
        await session.commit()
        return series.id


async def test_batches_written_in_fresh_sessions_are_all_kept(app: FastAPI) -> None:
    database = services_of(app).db
    series_id = await one_series(database)
    # Each batch starts a new session whose first statement is the bulk write itself.
    for batch in range(3):
        async with database.session() as session:
            rows = [(series_id, 1_700_000_000_000 + batch * 1000 + i, float(i)) for i in range(10)]
            await write_samples(session, rows)
            await session.commit()
    async with database.session() as session:
        count = await session.scalar(select(func.count()).select_from(Sample))
    assert count == 30


async def test_a_rolled_back_write_leaves_nothing(app: FastAPI) -> None:
    database = services_of(app).db
    series_id = await one_series(database)
    async with database.session() as session:
        await write_samples(session, [(series_id, 1_700_000_000_000, 1.0)])
        await session.rollback()
    async with database.session() as session:
        assert await session.scalar(select(func.count()).select_from(Sample)) == 0


async def test_repeated_samples_in_one_transaction_keep_the_last_value(app: FastAPI) -> None:
    database = services_of(app).db
    series_id = await one_series(database)
    t0 = 1_700_000_000_000
    async with database.session() as session:
        # A batch repeating a (series, ts), then a second write in the same transaction.
        first = [(series_id, t0, 1.0), (series_id, t0 + 1000, 2.0), (series_id, t0, 3.0)]
        assert await write_samples(session, first) == 2
        assert await write_sample_columns(session, [series_id], [t0 + 1000], [4.0]) == 1
        await session.commit()
    async with database.session() as session:
        rows = await session.execute(
            select(Sample.ts, Sample.value).where(Sample.series_id == series_id).order_by(Sample.ts)
        )
        assert [tuple(row) for row in rows] == [(t0, 3.0), (t0 + 1000, 4.0)]
