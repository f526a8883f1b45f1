"""Hourly rollups of samples, kept exact under late writes, and the long-range reads they serve.

The samples of an hour are the head's rows merged over the decoded chunks (store/chunks.py).

Every sample write appends the hours it touched to `sample_rollup_dirty` in its own
transaction. Reads use a rollup row only for hours with no pending mark, so a long-range
answer equals the one computed from raw samples. The rollup job recomputes the closed hours
with marks and deletes those marks, so that a write committing later always leaves a mark
for the next pass:

- on PostgreSQL it deletes the marks first and recomputes the hours after, in the same
  transaction: a mark it deleted was committed, so the samples written with it are visible
  to the recomputation;
- on SQLite, whose single writer would wait for the recomputation, it reads the marks and
  recomputes in one read snapshot, then takes the write lock and stores each hour whose marks
  are still exactly those it read, deleting them; an hour that gained a mark meanwhile keeps
  its marks for the next pass.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.engine import begin_writing
from failcast.db.transactions import release
from failcast.store import chunks
from failcast.store.codec import Float64s, Int64s
from failcast.store.ranges import Pairs, RangeRead

HOUR_MS = 3_600_000
# Hours recomputed per transaction: one, so that a pass holds a single hour's summaries in
# memory (a row per series) and a large backfill no long transaction.
HOURS_PER_PASS = 1


def _listed(numbers: Iterable[int]) -> str:
    """Integers as the inside of an SQL `IN (...)`."""
    return ", ".join(str(int(n)) for n in numbers)


def hour_of(ts_ms: int) -> int:
    return ts_ms - ts_ms % HOUR_MS


async def mark_dirty(driver: Any, dialect: str, timestamps: Iterable[int]) -> None:
    """Record the hours of `timestamps` as needing a rollup, on the writer's raw connection."""
    hours = sorted({ts - ts % HOUR_MS for ts in timestamps})
    if not hours:
        return
    if dialect == "postgresql":
        await driver.execute(
            "INSERT INTO sample_rollup_dirty (hour_ts) SELECT unnest($1::bigint[])", hours
        )
    else:
        await driver.executemany(
            "INSERT INTO sample_rollup_dirty (hour_ts) VALUES (?)", [(h,) for h in hours]
        )


# A rollup row: series, hour, min, max, sum, count, last timestamp, value there.
Summary = tuple[int, int, float, float, float, int, int, float]
_SUMMARY_KEYS = ("series_id", "hour_ts", "mn", "mx", "sm", "n", "lts", "last")


def _hour_parts_sql(where: str) -> str:
    """Per series of the hour [:lo, :hi) that `where` selects: min, max, sum, count, the last
    timestamp and the value there. Grouped by series alone, so the database aggregates rows
    in key order rather than sorting them by hour first."""
    return (
        "SELECT a.series_id, a.mn, a.mx, a.sm, a.n, a.lts, s.value FROM ("
        "SELECT series_id, min(value) AS mn, max(value) AS mx, sum(value) AS sm, "
        f"count(value) AS n, max(ts) AS lts FROM sample WHERE {where} GROUP BY series_id"
        ") AS a JOIN sample AS s ON s.series_id = a.series_id AND s.ts = a.lts"
    )


async def refresh(session: AsyncSession, now_ms: int, *, raw_cutoff_ms: int) -> list[int]:
    """Recompute every closed hour with pending marks; commit per pass; return the hours.

    Hours older than `raw_cutoff_ms` lost their raw samples to retention: their marks are
    dropped and their rollups kept. Each hour is taken at most once per call, so a pass that
    finds an hour still being written leaves it to the next call.
    """
    current = hour_of(now_ms)
    sqlite = session.get_bind().dialect.name == "sqlite"
    done: list[int] = []
    after = -1
    while True:
        # A compaction moving an hour's samples between head and chunks waits for this pass.
        await chunks.lock(session)
        seen = await _marks(session, after, current)
        if not seen:
            await release(session, "rollups are rebuilt hour by hour")
            return done
        after = max(seen)
        live = [hour for hour in seen if hour >= raw_cutoff_ms]
        if sqlite:
            # The summaries come from a read snapshot, without the single writer's lock; the
            # lock is taken for the writes alone, and only for the hours whose marks are still
            # those of the snapshot: a write since left a mark the snapshot did not see.
            summaries = {hour: await _summaries(session, hour) for hour in live}
            await begin_writing(await session.connection())
            now = await _marks_of(session, list(seen))
            settled = [hour for hour in seen if now.get(hour) == seen[hour]]
            await _drop_marks(session, settled)
        else:
            # The marks go first: a mark deleted was committed, so the samples written with it
            # are visible to the recomputation that follows.
            settled = list(seen)
            await _drop_marks(session, settled)
            summaries = {hour: await _summaries(session, hour) for hour in live}
        rebuilt = [hour for hour in settled if hour in summaries]
        await _store(session, rebuilt, summaries)
        done.extend(rebuilt)
        await release(session, "rollups are rebuilt hour by hour")


async def _marks(session: AsyncSession, after: int, current: int) -> dict[int, frozenset[int]]:
    """The marks of the first closed hours after `after` that have any, by hour."""
    rows = await session.scalars(
        text(
            "SELECT DISTINCT hour_ts FROM sample_rollup_dirty "
            "WHERE hour_ts > :after AND hour_ts < :current ORDER BY hour_ts LIMIT :n"
        ),
        {"after": after, "current": current, "n": HOURS_PER_PASS},
    )
    return await _marks_of(session, [int(h) for h in rows])


async def _marks_of(session: AsyncSession, hours: Sequence[int]) -> dict[int, frozenset[int]]:
    if not hours:
        return {}
    rows = await session.execute(
        text(f"SELECT hour_ts, id FROM sample_rollup_dirty WHERE hour_ts IN ({_listed(hours)})")
    )
    marks: dict[int, set[int]] = {}
    for hour, mark in rows:
        marks.setdefault(int(hour), set()).add(int(mark))
    return {hour: frozenset(ids) for hour, ids in marks.items()}


async def _drop_marks(session: AsyncSession, hours: Sequence[int]) -> None:
    if hours:
        await session.execute(
            text(f"DELETE FROM sample_rollup_dirty WHERE hour_ts IN ({_listed(hours)})")
        )


async def _summaries(session: AsyncSession, hour: int) -> list[Summary]:
    """The rollup rows of one hour: series with a chunk in it summarised here from their
    merged points, the others by the database from the head alone."""
    params = {"lo": hour, "hi": hour + HOUR_MS}
    chunked = await chunks.chunked_series(session, hour, hour + HOUR_MS)
    head_only = "ts >= :lo AND ts < :hi"
    if session.get_bind().dialect.name == "sqlite":
        # Seek each series' hour by the primary key (series, time) rather than scan the head.
        head_only += " AND series_id IN (SELECT id FROM series)"
    if chunked:
        head_only += f" AND series_id NOT IN ({_listed(chunked)})"
    rows = await session.execute(text(_hour_parts_sql(head_only)), params)
    summaries: list[Summary] = [(sid, hour, *parts) for sid, *parts in rows]
    if chunked:
        merged = await chunks.read_points(session, chunked, hour, hour + HOUR_MS)
        summaries += [
            (sid, h, part.mn, part.mx, part.sm, part.n, part.lts, part.last)
            for sid, (ts, values) in merged.items()
            for h, part in _summarise(ts, values)
        ]
    return summaries


async def _store(
    session: AsyncSession, hours: Sequence[int], summaries: dict[int, list[Summary]]
) -> None:
    """Replace the rollup rows of `hours` with their summaries."""
    if not hours:
        return
    await session.execute(text(f"DELETE FROM sample_rollup WHERE hour_ts IN ({_listed(hours)})"))
    rows = [dict(zip(_SUMMARY_KEYS, row, strict=True)) for hour in hours for row in summaries[hour]]
    if rows:
        await session.execute(
            text(
                "INSERT INTO sample_rollup (series_id, hour_ts, min_value, max_value, "
                "sum_value, count, last_ts, last_value) VALUES "
                "(:series_id, :hour_ts, :mn, :mx, :sm, :n, :lts, :last)"
            ),
            rows,
        )


async def expire(session: AsyncSession, cutoff_ms: int) -> int:
    """Delete rollups of hours before `cutoff_ms`; the caller commits."""
    result = await session.execute(
        text("DELETE FROM sample_rollup WHERE hour_ts < :cutoff"), {"cutoff": cutoff_ms}
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def usable(start_ms: int, step_ms: int | None) -> bool:
    """Whether buckets of this query are whole hours, so rollups can answer it."""
    return step_ms is not None and step_ms % HOUR_MS == 0 and start_ms % HOUR_MS == 0


@dataclass(slots=True)
class _Summary:
    mn: float
    mx: float
    sm: float
    n: int
    lts: int
    last: float

    def merge(self, other: _Summary) -> None:
        self.mn = min(self.mn, other.mn)
        self.mx = max(self.mx, other.mx)
        self.sm += other.sm
        self.n += other.n
        if other.lts > self.lts:
            self.lts, self.last = other.lts, other.last

    def value(self, agg: str) -> float:
        if agg == "avg":
            return self.sm / self.n
        if agg == "min":
            return self.mn
        if agg == "max":
            return self.mx
        if agg == "sum":
            return self.sm
        if agg == "count":
            return float(self.n)
        return self.last


def _summarise(ts: Int64s, values: Float64s) -> list[tuple[int, _Summary]]:
    """Per hour holding points of one series' sorted points: its summary."""
    if not len(ts):
        return []
    hours = ts - ts % HOUR_MS
    firsts = np.r_[0, np.flatnonzero(np.diff(hours)) + 1]
    lasts = np.r_[firsts[1:], len(ts)] - 1
    columns = zip(
        hours[firsts].tolist(),
        np.minimum.reduceat(values, firsts).tolist(),
        np.maximum.reduceat(values, firsts).tolist(),
        np.add.reduceat(values, firsts).tolist(),
        (lasts - firsts + 1).tolist(),
        ts[lasts].tolist(),
        values[lasts].tolist(),
        strict=True,
    )
    return [(h, _Summary(mn, mx, sm, n, lts, last)) for h, mn, mx, sm, n, lts, last in columns]


def _ranges(hours: Sequence[int]) -> list[tuple[int, int]]:
    """Merge sorted hour starts into [lo, hi) ranges."""
    out: list[tuple[int, int]] = []
    for hour in hours:
        if out and out[-1][1] == hour:
            out[-1] = (out[-1][0], hour + HOUR_MS)
        else:
            out.append((hour, hour + HOUR_MS))
    return out


async def read_hourly(session: AsyncSession, read: RangeRead) -> dict[int, Pairs]:
    """Bucketed points from rollups where they are current and raw samples elsewhere (the
    read has a step: rollups answer only bucketed reads); `per_series` is the caller's."""
    series_ids, start_ms, end_ms = read.series_ids, read.start_ms, read.end_ms
    step_ms = read.step_ms
    assert step_ms is not None
    ids = _listed(series_ids)
    dirty_rows = await session.scalars(
        text(
            "SELECT DISTINCT hour_ts FROM sample_rollup_dirty "
            "WHERE hour_ts >= :start AND hour_ts < :end ORDER BY hour_ts"
        ),
        {"start": start_ms, "end": end_ms},
    )
    dirty = [int(h) for h in dirty_rows]
    whole_end = hour_of(end_ms)
    raw: list[tuple[int, int]] = [(lo, min(hi, end_ms)) for lo, hi in _ranges(dirty)]
    if whole_end < end_ms and whole_end not in dirty:
        raw.append((whole_end, end_ms))
    parts: list[tuple[int, int, _Summary]] = []
    not_dirty = f"AND hour_ts NOT IN ({_listed(dirty)})" if dirty else ""
    rollup_rows = await session.execute(
        text(
            "SELECT series_id, hour_ts, min_value, max_value, sum_value, count, last_ts, "
            f"last_value FROM sample_rollup WHERE series_id IN ({ids}) "
            f"AND hour_ts >= :start AND hour_ts < :whole_end {not_dirty}"
        ),
        {"start": start_ms, "whole_end": whole_end},
    )
    parts.extend(
        (int(r[0]), int(r[1]), _Summary(r[2], r[3], r[4], int(r[5]), int(r[6]), r[7]))
        for r in rollup_rows
    )
    for lo, hi in raw:
        merged = await chunks.read_points(session, series_ids, lo, hi)
        parts.extend(
            (series_id, hour, summary)
            for series_id, (ts, values) in merged.items()
            for hour, summary in _summarise(ts, values)
        )
    buckets: dict[tuple[int, int], _Summary] = {}
    for series_id, hour, summary in parts:
        key = (series_id, start_ms + (hour - start_ms) // step_ms * step_ms)
        if key in buckets:
            buckets[key].merge(summary)
        else:
            buckets[key] = summary
    result: dict[int, Pairs] = {series_id: [] for series_id in series_ids}
    for taken, (series_id, bucket) in enumerate(sorted(buckets)):
        if taken >= read.limit:
            break
        result[series_id].append((bucket, buckets[series_id, bucket].value(read.agg.value)))
    return result
