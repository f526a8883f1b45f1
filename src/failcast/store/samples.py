"""Sample writes and downsampled range reads.

Writes go to the head, the `sample` table, and upsert on (series_id, ts), so re-sending a
batch never duplicates and the last write wins. SQLite takes an executemany; PostgreSQL takes
a binary COPY into a temporary table, then one INSERT ... ON CONFLICT from it. Each write also
marks the hours it touched for the rollup job. Closed windows move from the head into
compressed chunks (store/chunks.py); reads merge both, and reads whose buckets are whole hours
are answered from the rollups (store/rollups.py).

With a metrics engine configured (`FAILCAST_METRICS_BACKEND`), both entry points hand the
samples to it instead (store/remote.py) and the SQL sample tables stay empty. Beside a
read-only source (`FAILCAST_METRICS_SOURCE`) they hand it every call too; it reads the series
discovered in it and sends everything else back here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.engine import STAGING_COLUMNS, STAGING_TABLE, begin_writing
from failcast.ops.collector import collector_paused
from failcast.store import chunks, rollups
from failcast.store.codec import Float64s, Int64s
from failcast.store.ranges import Aggregation, Pairs, RangeRead
from failcast.store.remote import remote_backend

SampleRow = tuple[int, int, float]  # (series_id, ts_ms, value)
# A column of samples: a list from code that builds them one by one, or a numpy array from a
# decoder; each writer takes the form it consumes.
IntColumn = list[int] | npt.NDArray[np.int64]
FloatColumn = list[float] | npt.NDArray[np.float64]
# Series read and decoded together by a range read.
SERIES_PER_READ = 64


def last_write_wins(rows: Iterable[SampleRow]) -> list[SampleRow]:
    """Keep the last value for each (series, ts); one statement may not touch a row twice."""
    latest: dict[tuple[int, int], float] = {}
    for series_id, ts, value in rows:
        latest[(series_id, ts)] = value
    return [(series_id, ts, value) for (series_id, ts), value in latest.items()]


SQLITE_UPSERT = (
    "INSERT INTO sample (series_id, ts, value) VALUES (?, ?, ?) "
    "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value"
)
# The staging table is created once per connection (db/engine.py); the statement empties it
# as it moves its rows, so several writes may share a transaction.
_POSTGRES_MOVE = (
    f"WITH incoming AS (DELETE FROM {STAGING_TABLE} RETURNING series_id, ts, value) "
    "INSERT INTO sample (series_id, ts, value) SELECT series_id, ts, value FROM incoming "
    "ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value"
)


async def write_samples(session: AsyncSession, rows: Sequence[SampleRow]) -> int:
    """Upsert rows inside the session's transaction; the caller commits."""
    if not rows:
        return 0
    series_ids, ts, values = (list(column) for column in zip(*rows, strict=True))
    return await write_sample_columns(session, series_ids, ts, values)


async def write_sample_columns(
    session: AsyncSession, series_ids: IntColumn, ts: IntColumn, values: FloatColumn
) -> int:
    """Upsert the samples (series_ids[i], ts[i], values[i]) inside the session's transaction,
    the last of any repeated (series, ts) winning; return how many rows that is. The caller
    commits."""
    if not len(series_ids) == len(ts) == len(values):
        raise ValueError("series_ids, ts and values must have the same length")
    if (remote := remote_backend(session)) is not None:
        return await remote.write_sample_columns(session, series_ids, ts, values)
    return await _write_head(session, _listed(series_ids), _listed(ts), _listed(values))


def _listed(column: list[Any] | npt.NDArray[Any]) -> list[Any]:
    """The column as a list: the database drivers take rows of Python numbers."""
    return column if isinstance(column, list) else column.tolist()


async def _write_head(
    session: AsyncSession, series_ids: list[int], ts: list[int], values: list[float]
) -> int:
    """`write_sample_columns` into this store's head, the `sample` table."""
    written = len(dict.fromkeys(zip(series_ids, ts, strict=True)))
    if written < len(ts):
        series_ids, ts, values = (
            list(column)
            for column in zip(
                *last_write_wins(zip(series_ids, ts, values, strict=True)), strict=True
            )
        )
    if not ts:
        return 0
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver: Any = raw.driver_connection
    if connection.dialect.name == "postgresql":
        if not driver.is_in_transaction():
            # SQLAlchemy's asyncpg adapter begins its transaction at the first statement it
            # runs itself; without one, COPY would commit alone and the staging table's
            # ON COMMIT DELETE ROWS would empty it before the INSERT below.
            await connection.exec_driver_sql("SELECT 1")
        # Binary COPY costs the client less than half of what encoding the rows as arrays for
        # `INSERT ... SELECT FROM unnest(...)` does (docs/decisions.md).
        await driver.copy_records_to_table(
            STAGING_TABLE, records=zip(series_ids, ts, values, strict=True), columns=STAGING_COLUMNS
        )
        await driver.execute(_POSTGRES_MOVE)
    else:
        await begin_writing(connection)
        # The driver's own executemany: SQLAlchemy's parameter handling would double the cost.
        await driver.executemany(SQLITE_UPSERT, zip(series_ids, ts, values, strict=True))
    await rollups.mark_dirty(driver, connection.dialect.name, ts)
    return written


@dataclass(frozen=True, slots=True)
class Point:
    ts: int
    value: float


def _aggregate_sql(agg: Aggregation, dialect: str) -> str:
    if agg is Aggregation.last:
        if dialect == "postgresql":
            return "(array_agg(value ORDER BY ts DESC))[1]"
        # SQLite returns the bare column from the row holding max(ts).
        return "value"
    if agg is Aggregation.count_:
        return "count(value)"
    return f"{agg.value}(value)"


async def _head_buckets(
    session: AsyncSession,
    series_ids: Sequence[int],
    start_ms: int,
    end_ms: int,
    step_ms: int,
    agg: Aggregation,
    limit: int,
) -> dict[int, tuple[list[int], list[float]]]:
    """Bucketed points of the head alone, aggregated by the database."""
    dialect = session.get_bind().dialect.name
    ids = ", ".join(str(int(i)) for i in series_ids)
    value = _aggregate_sql(agg, dialect)
    select_value = f"max(ts), {value}" if value == "value" else value
    rows = await session.execute(
        text(
            f"SELECT series_id, (ts - :start) / :step * :step + :start AS bucket, {select_value} "
            f"FROM sample WHERE series_id IN ({ids}) AND ts >= :start AND ts < :end "
            "GROUP BY series_id, bucket ORDER BY series_id, bucket LIMIT :limit"
        ),
        {"start": start_ms, "end": end_ms, "step": step_ms, "limit": limit},
    )
    out: dict[int, tuple[list[int], list[float]]] = {int(sid): ([], []) for sid in series_ids}
    for row in rows.all():
        stamps, values = out[row[0]]
        stamps.append(int(row[1]))
        values.append(float(row[-1]))
    return out


def _buckets(
    ts: Int64s, values: Float64s, start_ms: int, step_ms: int, agg: Aggregation
) -> tuple[list[int], list[float]]:
    """One aggregated value per bucket holding points, stamped with the bucket's start."""
    if not len(ts):
        return [], []
    index = (ts - start_ms) // step_ms
    firsts = np.r_[0, np.flatnonzero(np.diff(index)) + 1]
    counts = np.diff(np.r_[firsts, len(ts)])
    stamps = (index[firsts] * step_ms + start_ms).tolist()
    if agg is Aggregation.last:
        out = values[firsts + counts - 1]
    elif agg is Aggregation.count_:
        out = counts.astype(np.float64)
    elif agg is Aggregation.min:
        out = np.minimum.reduceat(values, firsts)
    elif agg is Aggregation.max:
        out = np.maximum.reduceat(values, firsts)
    else:
        sums = np.add.reduceat(values, firsts)
        out = sums if agg is Aggregation.sum else sums / counts
    return stamps, out.tolist()


async def read_range(
    session: AsyncSession,
    series_ids: Sequence[int],
    start_ms: int,
    end_ms: int,
    *,
    step_ms: int | None,
    agg: Aggregation,
    limit: int,
    per_series: int | None = None,
) -> dict[int, list[Point]]:
    """Points of each series in [start, end). With a step, one aggregated point per bucket,
    stamped with the bucket's start. At most `limit` points in all (the caller checks), and
    at most `per_series` (the first ones) of each."""
    read = RangeRead(series_ids, start_ms, end_ms, step_ms, agg, limit, per_series)
    found = await read_pairs(session, read)
    with collector_paused():
        return {sid: [Point(ts, value) for ts, value in pts] for sid, pts in found.items()}


async def read_pairs(session: AsyncSession, read: RangeRead) -> dict[int, Pairs]:
    """`read_range` as (ts, value) tuples, for readers that take many points and want no
    object per point (live scoring reads back everything that arrives)."""
    if (remote := remote_backend(session)) is not None:
        return await remote.read_range(session, read)
    return await _read_stored(session, read)


async def _read_stored(session: AsyncSession, read: RangeRead) -> dict[int, Pairs]:
    """`read_pairs` from this store: hourly rollups where they answer, else the head's rows
    merged over the decoded chunks, the first `limit` points in (series, time) order."""
    result: dict[int, Pairs] = {series_id: [] for series_id in read.series_ids}
    if not read.series_ids:
        return result
    start_ms, end_ms, step_ms, agg = read.start_ms, read.end_ms, read.step_ms, read.agg
    per_series = read.per_series
    if step_ms is not None and rollups.usable(start_ms, step_ms):
        hourly = await rollups.read_hourly(session, read)
        return {sid: pts[:per_series] for sid, pts in hourly.items()}
    left = read.limit
    ordered = sorted(set(read.series_ids))
    # A few series at a time, so that a read stopped by `limit` decodes no more than it needs.
    for k in range(0, len(ordered), SERIES_PER_READ):
        if left <= 0:
            break
        group = ordered[k : k + SERIES_PER_READ]
        if step_ms is not None:
            # Recent ranges live in the head alone: there the database aggregates. The head is
            # read before the chunks are looked for, so a compaction committing in between
            # is seen as chunks and the group is read again, merged.
            head = await _head_buckets(session, group, start_ms, end_ms, step_ms, agg, left)
            if not await chunks.chunked_series(session, start_ms, end_ms, group):
                with collector_paused():
                    for series_id in group:
                        stamps, out = head[series_id]
                        result[series_id] = list(
                            zip(stamps[:per_series], out[:per_series], strict=True)
                        )
                        left -= len(result[series_id])
                continue
        points = await chunks.read_points(session, group, start_ms, end_ms)
        with collector_paused():
            for series_id, (ts, values) in points.items():
                if left <= 0:
                    break
                keep = left if per_series is None else min(left, per_series)
                if step_ms is None:
                    stamps, out = ts[:keep].tolist(), values[:keep].tolist()
                else:
                    stamps, out = _buckets(ts, values, start_ms, step_ms, agg)
                    stamps, out = stamps[:keep], out[:keep]
                result[series_id] = list(zip(stamps, out, strict=True))
                left -= len(stamps)
    return result
