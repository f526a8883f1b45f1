"""Compaction moves closed windows from the head into chunks without changing any answer:
raw and bucketed reads, late writes, rollups, concurrent compactions, failures and SIGKILL,
retention — on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import math
import signal
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from failcast.catalog.repository import last_sample_ms
from failcast.chaos.demo import has_samples
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.exports.service import Kind, Query
from failcast.exports.service import chunks as export_pages
from failcast.jobs.maintenance import StoreJobs
from failcast.models import Organization, Sample, SampleChunk, SampleRollup, Series, Service
from failcast.query.service import org_stats
from failcast.store import codec, samples
from failcast.store.chunks import CHUNK_MS
from failcast.store.partitions import DAY_MS, partition_name
from failcast.store.ranges import Aggregation
from failcast.store.rollups import HOUR_MS
from failcast.store.samples import read_range, write_samples

# A fixed instant, 40 minutes into a chunk window; the data covers the nine hours before it.
NOW = 1_765_000_000_000 - 1_765_000_000_000 % CHUNK_MS + 40 * 60_000
START = NOW - 9 * HOUR_MS
Data = dict[tuple[int, int], float]


async def _series(database: Database, n: int) -> list[int]:
    async with database.session() as session:
        org = Organization(name="chunks", slug="chunks")
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


async def _write(database: Database, rows: list[tuple[int, int, float]], data: Data) -> None:
    async with database.session() as session:
        await write_samples(session, rows)
        await session.commit()
    for sid, ts, value in rows:
        data[(sid, ts)] = value


def _fill(ids: list[int]) -> list[tuple[int, int, float]]:
    """A noisy gauge and a counter, one point every 30 s with jitter, gaps in the second."""
    rows = []
    for i in range((NOW - START) // 30_000):
        ts = START + i * 30_000
        rows.append((ids[0], ts + (i * 7919) % 997, math.sin(i) * 1e3 + (i * 31) % 17 / 3))
        if i % 11:
            rows.append((ids[1], ts, float(i * 4 + i % 3)))
    return rows


def _reference(
    data: Data, sid: int, start: int, end: int, step: int | None, agg: Aggregation
) -> list[tuple[int, float]]:
    points = sorted((ts, v) for (s, ts), v in data.items() if s == sid and start <= ts < end)
    if step is None:
        return points
    buckets: dict[int, list[tuple[int, float]]] = {}
    for ts, value in points:
        buckets.setdefault(start + (ts - start) // step * step, []).append((ts, value))
    out = []
    for bucket, members in sorted(buckets.items()):
        values = [v for _, v in members]
        out.append(
            (
                bucket,
                {
                    "avg": sum(values) / len(values),
                    "min": min(values),
                    "max": max(values),
                    "sum": sum(values),
                    "count": float(len(values)),
                    "last": members[-1][1],
                }[agg.value],
            )
        )
    return out


QUERIES = [
    (START, NOW + 1, None),
    (START + 12_345, NOW - 3 * HOUR_MS, None),
    (START + 1, NOW, 300_000),
    (START - 77_000, NOW + 60_000, 7 * 60_000),
    (START, NOW, HOUR_MS),
    (START, NOW, 2 * HOUR_MS),
    (START + HOUR_MS // 2, NOW, HOUR_MS),
]


async def _assert_answers(database: Database, ids: list[int], data: Data) -> None:
    async with database.session() as session:
        for start, end, step in QUERIES:
            for agg in Aggregation if step else [Aggregation.avg]:
                got = await read_range(
                    session, ids, start, end, step_ms=step, agg=agg, limit=1_000_000
                )
                for sid in ids:
                    want = _reference(data, sid, start, end, step, agg)
                    where = (start - START, end - START, step, agg, sid)
                    assert [p.ts for p in got[sid]] == [t for t, _ in want], where
                    for point, (_, value) in zip(got[sid], want, strict=True):
                        assert math.isclose(point.value, value, rel_tol=1e-12), where


async def _counts(database: Database) -> tuple[int, int]:
    async with database.session() as session:
        head = await session.scalar(select(func.count()).select_from(Sample))
        chunks = await session.scalar(select(func.count()).select_from(SampleChunk))
    return int(head or 0), int(chunks or 0)


@pytest.fixture
def chunk_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"chunk_grace": timedelta(hours=1)})


async def test_reads_answer_the_same_before_and_after_compaction(chunk_settings: Settings) -> None:
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        data: Data = {}
        await _write(database, _fill(ids), data)
        jobs = StoreJobs(database, chunk_settings, clock=lambda: NOW)
        await jobs.rollups()
        await _assert_answers(database, ids, data)

        report = await jobs.compact()
        # Windows ending an hour or more before NOW are compacted: NOW sits 40 minutes into
        # its window, so the previous one (ended 40 minutes ago) stays in the head.
        closed = (NOW - NOW % CHUNK_MS - CHUNK_MS - (START - START % CHUNK_MS)) // CHUNK_MS
        assert len(report.windows) == closed
        assert report.chunks == 2 * closed
        head, chunks = await _counts(database)
        assert chunks == 2 * closed
        assert head + report.samples == len(data)
        await _assert_answers(database, ids, data)

        # A second pass finds nothing to do.
        again = await jobs.compact()
        assert (again.chunks, again.samples) == (0, 0)

        # Late writes into compacted windows: a replaced value and a new timestamp. Reads
        # show them at once; the next compaction merges them into their chunks.
        late = [
            (ids[0], min(ts for s, ts in data if s == ids[0]), -123.5),
            (ids[1], START + 11 * 30_000, 77.0),
            (ids[1], START + CHUNK_MS + 1, 78.0),
        ]
        await _write(database, late, data)
        await _assert_answers(database, ids, data)
        assert await jobs.rollups()
        await _assert_answers(database, ids, data)
        merged = await jobs.compact()
        assert merged.samples == 3
        assert merged.merged == merged.chunks
        assert await _counts(database) == (head, chunks)
        await _assert_answers(database, ids, data)
    finally:
        await database.dispose()


async def test_rollups_of_compacted_hours_stay_exact(chunk_settings: Settings) -> None:
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        data: Data = {}
        await _write(database, _fill(ids), data)
        jobs = StoreJobs(database, chunk_settings, clock=lambda: NOW)
        await jobs.compact()
        # Rolled up after compaction: every hour's samples are now in chunks.
        await jobs.rollups()
        hour = START - START % HOUR_MS + 2 * HOUR_MS
        await _write(database, [(ids[0], hour + 5, 1e6)], data)
        assert hour in await jobs.rollups()
        async with database.session() as session:
            rows = await session.scalars(
                select(SampleRollup).where(SampleRollup.hour_ts == hour).order_by("series_id")
            )
            for row in rows:
                values = [
                    v
                    for (s, ts), v in data.items()
                    if s == row.series_id and hour <= ts < hour + HOUR_MS
                ]
                assert (row.count, row.max_value) == (len(values), max(values))
                assert math.isclose(row.sum_value, sum(values), rel_tol=1e-12)
        await _assert_answers(database, ids, data)
    finally:
        await database.dispose()


async def test_concurrent_compactions_move_each_sample_once(chunk_settings: Settings) -> None:
    databases = [Database(chunk_settings) for _ in range(2)]
    try:
        ids = await _series(databases[0], 2)
        data: Data = {}
        await _write(databases[0], _fill(ids), data)
        reports = await asyncio.gather(
            *(StoreJobs(db, chunk_settings, clock=lambda: NOW).compact() for db in databases)
        )
        head, chunks = await _counts(databases[0])
        assert head + sum(r.samples for r in reports) == len(data)
        assert chunks == sum(r.chunks for r in reports) - sum(r.merged for r in reports)
        await _assert_answers(databases[1], ids, data)
    finally:
        for database in databases:
            await database.dispose()


async def test_a_failed_compaction_loses_nothing(
    chunk_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        data: Data = {}
        await _write(database, _fill(ids), data)

        def broken(*_: object) -> bytes:
            raise RuntimeError("the worker died here")

        monkeypatch.setattr(codec, "encode", broken)
        with pytest.raises(RuntimeError):
            await StoreJobs(database, chunk_settings, clock=lambda: NOW).compact()
        assert await _counts(database) == (len(data), 0)
        await _assert_answers(database, ids, data)
    finally:
        await database.dispose()


async def test_retention_drops_whole_chunks(chunk_settings: Settings) -> None:
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        data: Data = {}
        await _write(database, _fill(ids), data)
        jobs = StoreJobs(database, chunk_settings, clock=lambda: NOW)
        await jobs.compact()
        # Retention runs by whole UTC days: everything before NOW's midnight goes.
        keep_from = NOW - NOW % 86_400_000
        assert keep_from > START
        short = chunk_settings.model_copy(update={"sample_retention": timedelta(hours=1)})
        await StoreJobs(database, short, clock=lambda: NOW).partitions()
        async with database.session() as session:
            first = await session.scalar(select(func.min(SampleChunk.start_ts)))
            assert first == keep_from
            got = await read_range(
                session, ids, START, NOW, step_ms=None, agg=Aggregation.avg, limit=10**6
            )
        kept = {key: v for key, v in data.items() if key[1] >= keep_from}
        for sid in ids:
            want = sorted((ts, v) for (s, ts), v in kept.items() if s == sid)
            assert [(p.ts, p.value) for p in got[sid]] == want
    finally:
        await database.dispose()


async def test_deleting_a_series_deletes_its_chunks(chunk_settings: Settings) -> None:
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        await _write(database, _fill(ids), {})
        await StoreJobs(database, chunk_settings, clock=lambda: NOW).compact()
        async with database.session() as session:
            await session.execute(text("DELETE FROM series WHERE id = :id"), {"id": ids[0]})
            await session.commit()
            left = await session.scalars(select(SampleChunk.series_id).distinct())
            assert list(left) == [ids[1]]
    finally:
        await database.dispose()


async def test_compacted_days_give_their_space_back(chunk_settings: Settings) -> None:
    if not chunk_settings.sqlalchemy_url.startswith("postgresql"):
        pytest.skip("day partitions are PostgreSQL's")
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        jobs = StoreJobs(database, chunk_settings, clock=lambda: NOW)
        # Day partitions around NOW, so that the data does not land in the DEFAULT one.
        await jobs.partitions()
        data: Data = {}
        await _write(database, _fill(ids), data)
        yesterday = f"sample_partitions.{partition_name(NOW - NOW % DAY_MS - DAY_MS)}"

        async def held(table: str) -> int:
            async with database.session() as session:
                size = await session.scalar(
                    text("SELECT pg_total_relation_size(CAST(:t AS regclass))"), {"t": table}
                )
                return int(size or 0)

        full = await held(yesterday)
        report = await jobs.compact()
        assert report.released == [partition_name(NOW - NOW % DAY_MS - DAY_MS)]
        # As small as a day partition never written to.
        tomorrow = f"sample_partitions.{partition_name(NOW - NOW % DAY_MS + DAY_MS)}"
        assert await held(yesterday) <= await held(tomorrow) < full
        await _assert_answers(database, ids, data)
        # A late sample for the emptied day lands there and is read, then compacted.
        await _write(database, [(ids[0], START + 1, 5.0)], data)
        await _assert_answers(database, ids, data)
        again = await jobs.compact()
        assert (again.samples, again.released) == (1, [partition_name(START)])
        await _assert_answers(database, ids, data)
    finally:
        await database.dispose()


TESTS = Path(__file__).resolve().parents[1]
_KILLED_COMPACTION = """
import asyncio, json, sys, time
sys.path.insert(0, sys.argv[1])
from factories import make_settings
from failcast.db.engine import Database
from failcast.jobs.maintenance import StoreJobs
from failcast.store import codec, samples

def stuck(*_):
    print("encoding", flush=True)
    time.sleep(120)

codec.encode = stuck
settings = make_settings(**json.loads(sys.argv[2]))
asyncio.run(StoreJobs(Database(settings), settings, clock=lambda: int(sys.argv[3])).compact())
"""


async def test_a_compaction_killed_with_sigkill_loses_nothing(chunk_settings: Settings) -> None:
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        data: Data = {}
        await _write(database, _fill(ids), data)
        where = {"data_dir": str(chunk_settings.data_dir)}
        if chunk_settings.database_url:
            where["database_url"] = chunk_settings.database_url
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _KILLED_COMPACTION,
            str(TESTS),
            json.dumps(where),
            str(NOW),
            stdout=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stdout is not None
            # The head rows of the first batch are deleted, in a transaction not yet committed.
            line = await asyncio.wait_for(process.stdout.readline(), 60)
            assert line == b"encoding\n"
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        assert await _counts(database) == (len(data), 0)
        await _assert_answers(database, ids, data)
        # The lock died with the process: the next compaction runs.
        report = await StoreJobs(database, chunk_settings, clock=lambda: NOW).compact()
        assert report.chunks > 0
        await _assert_answers(database, ids, data)
    finally:
        await database.dispose()


@pytest.mark.parametrize("per_read", [1, 64])
async def test_the_limit_takes_points_in_series_then_time_order(
    chunk_settings: Settings, monkeypatch: pytest.MonkeyPatch, per_read: int
) -> None:
    monkeypatch.setattr(samples, "SERIES_PER_READ", per_read)
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 3)
        data: Data = {}
        await _write(database, _fill(ids), data)
        await StoreJobs(database, chunk_settings, clock=lambda: NOW).compact()
        first = sum(1 for s, _ in data if s == ids[0])
        async with database.session() as session:
            for step, limit in ((None, first + 5), (600_000, 20), (None, 0)):
                got = await read_range(
                    session, ids, START, NOW, step_ms=step, agg=Aggregation.max, limit=limit
                )
                want = [
                    (sid, point)
                    for sid in ids
                    for point in _reference(data, sid, START, NOW, step, Aggregation.max)
                ][:limit]
                assert [(sid, (p.ts, p.value)) for sid in ids for p in got[sid]] == want
            # Each series keeps its own first points, whatever the one before it holds.
            for step in (None, 600_000):
                got = await read_range(
                    session,
                    ids,
                    START,
                    NOW,
                    step_ms=step,
                    agg=Aggregation.max,
                    limit=12,
                    per_series=5,
                )
                want = [
                    (sid, point)
                    for sid in ids
                    for point in _reference(data, sid, START, NOW, step, Aggregation.max)[:5]
                ][:12]
                assert [(sid, (p.ts, p.value)) for sid in ids for p in got[sid]] == want
    finally:
        await database.dispose()


async def test_a_service_whose_samples_are_all_compacted_still_has_them(
    chunk_settings: Settings,
) -> None:
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        old = [(sid, ts, value) for sid, ts, value in _fill(ids) if ts < NOW - 4 * HOUR_MS]
        await _write(database, old, {})
        await StoreJobs(database, chunk_settings, clock=lambda: NOW).compact()
        head, chunks = await _counts(database)
        assert head == 0 and chunks > 0
        async with database.session() as session:
            series = await session.get_one(Series, ids[0])
            last = await last_sample_ms(session, series.service_id)
            assert last == max(ts for _, ts, _ in old)
            assert await has_samples(session, series.org_id)
    finally:
        await database.dispose()


async def test_exports_and_org_stats_see_head_and_chunks(chunk_settings: Settings) -> None:
    database = Database(chunk_settings)
    try:
        ids = await _series(database, 2)
        data: Data = {}
        await _write(database, _fill(ids), data)
        await StoreJobs(database, chunk_settings, clock=lambda: NOW).compact()
        late = [(ids[0], START + 1, 9.5), (ids[1], NOW - 1, 8.5)]
        await _write(database, late, data)
        async with database.session() as session:
            org_id = (await session.get_one(Series, ids[0])).org_id
            stats = await org_stats(session, org_id)
        # The late sample at START + 1 is new, not a rewrite: nothing counts twice.
        assert (stats.samples, stats.oldest_ms, stats.newest_ms) == (len(data), START, NOW - 1)
        query = Query(org_id=org_id, kind=Kind.metrics, start_ms=START + 5, end_ms=NOW)
        # Pages of 997 rows stop inside series and inside chunks.
        exported = [
            (row["metric"], int(row["ts"].timestamp() * 1000), row["value"])
            async for page in export_pages(database, query, chunk=997)
            for row in page
        ]
        metric = {ids[0]: "m0", ids[1]: "m1"}
        want = sorted(
            (metric[sid], ts, value) for (sid, ts), value in data.items() if START + 5 <= ts < NOW
        )
        assert exported == want
    finally:
        await database.dispose()
