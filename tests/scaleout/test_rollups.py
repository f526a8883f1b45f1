"""Hourly rollups answer hour-aligned range queries exactly like the raw samples, late writes
included, on SQLite and PostgreSQL."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.config import Settings
from failcast.db.engine import Database
from failcast.jobs.maintenance import StoreJobs
from failcast.models import Organization, SampleRollup, Series, Service
from failcast.store import rollups
from failcast.store.ranges import Aggregation
from failcast.store.rollups import HOUR_MS
from failcast.store.samples import read_range, write_samples
from failcast.timeutil import now_ms

NOW = now_ms()
# Six closed hours, then the current one up to now.
START = NOW - NOW % HOUR_MS - 6 * HOUR_MS


async def _series(database: Database, n: int) -> list[int]:
    async with database.session() as session:
        org = Organization(name="rollups", slug="rollups")
        session.add(org)
        await session.flush()
        service = Service(org_id=org.id, name="api")
        session.add(service)
        await session.flush()
        ids = []
        for k in range(n):
            series = Series(
                org_id=org.id, service_id=service.id, metric=f"m{k}", labels={}, labels_key="[]"
            )
            session.add(series)
            await session.flush()
            ids.append(series.id)
        await session.commit()
    return ids


def _expected(
    data: dict[tuple[int, int], float], sid: int, start: int, end: int, step: int, agg: str
) -> list[tuple[int, float]]:
    """The bucketed answer computed by hand from the raw points."""
    buckets: dict[int, list[tuple[int, float]]] = {}
    for (series_id, ts), value in sorted(data.items()):
        if series_id == sid and start <= ts < end:
            buckets.setdefault(start + (ts - start) // step * step, []).append((ts, value))
    out = []
    for bucket, points in sorted(buckets.items()):
        values = [v for _, v in points]
        result = {
            "avg": sum(values) / len(values),
            "min": min(values),
            "max": max(values),
            "sum": sum(values),
            "count": float(len(values)),
            "last": points[-1][1],
        }[agg]
        out.append((bucket, result))
    return out


async def test_rollups_answer_like_raw_samples(settings: Settings) -> None:
    database = Database(settings)
    try:
        ids = await _series(database, 2)
        data: dict[tuple[int, int], float] = {}
        rows = []
        # One point a minute per series, values that make every aggregate differ.
        for minute in range((NOW - START) // 60_000):
            for k, sid in enumerate(ids):
                ts = START + minute * 60_000 + k * 7_000
                value = float((minute * 37 + k * 11) % 101) - 50.5
                rows.append((sid, ts, value))
                data[(sid, ts)] = value
        async with database.session() as session:
            await write_samples(session, rows)
            await session.commit()

        jobs = StoreJobs(database, settings, clock=lambda: NOW)
        assert await jobs.rollups() == [START + h * HOUR_MS for h in range(6)]
        assert await jobs.rollups() == []

        # A late write into a rolled-up hour, and a new point in another: both must show.
        late = [
            (ids[0], START + 2 * HOUR_MS + 60_000, 999.0),
            (ids[1], START + 30 * 60_000 + 1, -7.0),
        ]
        async with database.session() as session:
            await write_samples(session, late)
            await session.commit()
        for sid, ts, value in late:
            data[(sid, ts)] = value

        async with database.session() as session:
            for step in (HOUR_MS, 2 * HOUR_MS):
                for agg in Aggregation:
                    got = await read_range(
                        session, ids, START, NOW, step_ms=step, agg=agg, limit=10_000
                    )
                    for sid in ids:
                        want = _expected(data, sid, START, NOW, step, agg.value)
                        assert [p.ts for p in got[sid]] == [b for b, _ in want], (step, agg)
                        for point, (_, value) in zip(got[sid], want, strict=True):
                            assert math.isclose(point.value, value, rel_tol=1e-12), (step, agg)

        # The next pass folds the late writes in: rows match the raw summary of that hour.
        assert await jobs.rollups() == [START, START + 2 * HOUR_MS]
        async with database.session() as session:
            row = await session.get_one(SampleRollup, (ids[0], START + 2 * HOUR_MS))
            assert row.max_value == 999.0
            # It replaced the point of that minute: still sixty points.
            assert row.count == 60
            assert await session.scalar(select(func.count()).select_from(SampleRollup)) == 12
            # Rollups outlive raw samples: with the first hour's raw rows gone, a 1 h query
            # still answers it from the rollup.
            await session.execute(
                text("DELETE FROM sample WHERE ts < :end"), {"end": START + HOUR_MS}
            )
            await session.commit()
            got = await read_range(
                session,
                ids[:1],
                START,
                START + HOUR_MS,
                step_ms=HOUR_MS,
                agg=Aggregation.count_,
                limit=10,
            )
            assert [(p.ts, p.value) for p in got[ids[0]]] == [(START, 60.0)]
    finally:
        await database.dispose()


@pytest.mark.parametrize(
    ("start_offset", "expected"),
    [(1, [(HOUR_MS, 4.0)]), (30 * 60_000, [(0, 1.0), (HOUR_MS, 3.0)])],
)
async def test_unaligned_queries_read_raw_samples(
    settings: Settings, start_offset: int, expected: list[tuple[int, float]]
) -> None:
    database = Database(settings)
    try:
        ids = await _series(database, 1)
        async with database.session() as session:
            await write_samples(
                session, [(ids[0], START + 10, 1.0), (ids[0], START + HOUR_MS, 3.0)]
            )
            await session.commit()
            start = START + start_offset - HOUR_MS
            got = await read_range(
                session, ids, start, NOW, step_ms=HOUR_MS, agg=Aggregation.sum, limit=10
            )
        # No rollup exists yet, so only raw samples can have given these buckets.
        assert [(p.ts - start, p.value) for p in got[ids[0]]] == expected
    finally:
        await database.dispose()


async def test_a_write_during_a_pass_is_rolled_up_by_the_next(
    settings: Settings, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sample committed while a pass recomputes its hour is never lost to the rollup. On
    SQLite the pass recomputes from a read snapshot taken before the write and stores under
    the lock afterwards, so it leaves the hour, still marked, to the next pass; on PostgreSQL
    the pass deleted the marks first, so its recomputation sees the write, whose own mark
    makes the next pass recompute the hour again."""
    database = Database(settings)
    try:
        ids = await _series(database, 1)
        hour = START + HOUR_MS
        async with database.session() as session:
            await write_samples(session, [(ids[0], hour + 60_000 * m, 1.0) for m in range(60)])
            await session.commit()
        summaries = rollups._summaries

        async def late_write_first(session: AsyncSession, at: int) -> list[rollups.Summary]:
            async with database.session() as other:
                await write_samples(other, [(ids[0], hour + 30 * 60_000, 50.0)])
                await other.commit()
            return await summaries(session, at)

        monkeypatch.setattr(rollups, "_summaries", late_write_first)
        jobs = StoreJobs(database, settings, clock=lambda: NOW)
        if backend == "sqlite":
            assert await jobs.rollups() == []
            async with database.session() as session:
                assert await session.get(SampleRollup, (ids[0], hour)) is None
        else:
            assert await jobs.rollups() == [hour]
        async with database.session() as session:
            marked = await session.scalar(
                text("SELECT count(*) FROM sample_rollup_dirty WHERE hour_ts = :h"), {"h": hour}
            )
            assert marked
        monkeypatch.undo()
        assert await jobs.rollups() == [hour]
        async with database.session() as session:
            row = await session.get_one(SampleRollup, (ids[0], hour))
            assert (row.count, row.max_value, row.sum_value) == (60, 50.0, 59.0 + 50.0)
    finally:
        await database.dispose()
