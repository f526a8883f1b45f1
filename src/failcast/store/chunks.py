"""Compressed sample chunks: compaction of closed windows, reads merged with the head, retention.

Samples are written as rows of `sample`, the head: a committed write is durable at once and
any API replica or worker sees it. Once a two-hour window of a series has closed (its end
plus a grace period has passed), compaction moves its rows into one `sample_chunk` row packed
by the codec (store/codec.py), in one short transaction per batch of series. A sample that
arrives later for a compacted window lands in the head again and is merged into the chunk at
the next compaction, the head's value winning. Reads decode the chunks of their range and
merge the head over them, so they answer the same whichever side a sample is on.

Two compactions may run at once (two workers, or a retried job): on PostgreSQL each batch
first takes a transaction-level advisory lock, on SQLite the first statement of a batch is
the delete that takes the single writer's lock. The head rows are taken with one
`DELETE ... RETURNING`, so exactly the rows removed are the rows packed, and a write that
commits meanwhile stays in the head for the next pass.

On PostgreSQL the head is partitioned by day, and a past day's partition keeps the space of
its deleted rows until retention drops it; compaction therefore empties the partitions of
fully compacted days with TRUNCATE. SQLite reuses the freed pages for new head rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.transactions import release
from failcast.store import codec, partitions
from failcast.store.codec import Float64s, Int64s

CHUNK_MS = 2 * 3_600_000
# Pairs of (series, window) moved per transaction: a few hundred kB of rows at 15 s scrapes.
SERIES_PER_BATCH = 200
# pg_advisory_xact_lock key shared by compaction and the rollup job (store/rollups.py).
LOCK_KEY = 0x5A3D_0002
# A fresh day partition's indexes (primary key and BRIN) take a few pages; more than this
# means deleted head rows still hold space.
_EMPTY_INDEXES_BYTES = 65_536
# Emptying a day partition waits this long for its readers and writers, else the next pass
# tries again.
_TRUNCATE_LOCK_TIMEOUT = "2s"
_LOCK_NOT_AVAILABLE = "55P03"

Points = tuple[Int64s, Float64s]


def window_of(ts_ms: int) -> int:
    """The start (ms) of the chunk window holding `ts_ms`."""
    return ts_ms - ts_ms % CHUNK_MS


async def lock(session: AsyncSession) -> None:
    """Serialise with other compactions and rollup passes until the transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


def _ids(series_ids: Iterable[int]) -> str:
    return ", ".join(str(int(i)) for i in series_ids)


def _empty() -> Points:
    return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)


def _columns(rows: Sequence[Any]) -> dict[int, Points]:
    """Rows of (series_id, ts, value), ordered by series then time, as columns per series."""
    out: dict[int, Points] = {}
    if not rows:
        return out
    sids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ts = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    values = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    cuts = np.flatnonzero(np.diff(sids)) + 1
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(rows)], strict=True):
        out[int(sids[lo])] = (ts[lo:hi], values[lo:hi])
    return out


async def read_points(
    session: AsyncSession, series_ids: Sequence[int], start_ms: int, end_ms: int
) -> dict[int, Points]:
    """Every point of each series in [start, end), head and chunks merged, sorted by time.

    The head is read before the chunks: a compaction committing in between moves rows from
    the head into a chunk, so they are read twice (and merged) rather than missed.
    """
    result = {int(sid): _empty() for sid in series_ids}
    if not series_ids:
        return result
    ids = _ids(series_ids)
    bounds = {"start": start_ms, "end": end_ms}
    head_rows = await session.execute(
        text(
            f"SELECT series_id, ts, value FROM sample WHERE series_id IN ({ids}) "
            "AND ts >= :start AND ts < :end ORDER BY series_id, ts"
        ),
        bounds,
    )
    head = _columns(head_rows.all())
    chunk_rows = await session.execute(
        text(
            f"SELECT series_id, data FROM sample_chunk WHERE series_id IN ({ids}) "
            "AND start_ts > :lo AND start_ts < :end AND last_ts >= :start "
            "ORDER BY series_id, start_ts"
        ),
        {**bounds, "lo": start_ms - CHUNK_MS},
    )
    decoded: dict[int, list[Points]] = {}
    for series_id, data in chunk_rows:
        ts, values = codec.decode(data)
        keep = (ts >= start_ms) & (ts < end_ms)
        decoded.setdefault(int(series_id), []).append((ts[keep], values[keep]))
    for series_id in result:
        parts = decoded.get(series_id)
        old = (
            (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
            if parts
            else None
        )
        new = head.get(series_id)
        if old is None:
            result[series_id] = new if new is not None else _empty()
        elif new is None:
            result[series_id] = old
        else:
            result[series_id] = codec.merge(*old, *new)
    return result


async def chunked_series(
    session: AsyncSession, start_ms: int, end_ms: int, series_ids: Sequence[int] | None = None
) -> list[int]:
    """The series with a chunk holding points in [start, end)."""
    only = f"AND series_id IN ({_ids(series_ids)})" if series_ids else ""
    rows = await session.scalars(
        text(
            "SELECT DISTINCT series_id FROM sample_chunk "
            f"WHERE start_ts > :lo AND start_ts < :end AND last_ts >= :start {only}"
        ),
        {"lo": start_ms - CHUNK_MS, "start": start_ms, "end": end_ms},
    )
    return sorted(int(sid) for sid in rows)


@dataclass
class CompactionReport:
    chunks: int = 0
    samples: int = 0
    merged: int = 0
    windows: list[int] = field(default_factory=list)
    released: list[str] = field(default_factory=list)


async def _pending(session: AsyncSession, cutoff_ms: int) -> list[tuple[int, int]]:
    """(window, series) pairs with head rows in windows closed before `cutoff_ms`."""
    rows = await session.execute(
        text(
            f"SELECT DISTINCT ts - ts % {CHUNK_MS} AS w, series_id FROM sample "
            "WHERE ts < :cutoff ORDER BY w, series_id"
        ),
        {"cutoff": cutoff_ms},
    )
    return [(int(w), int(sid)) for w, sid in rows]


_UPSERT_CHUNK = text(
    "INSERT INTO sample_chunk (series_id, start_ts, first_ts, last_ts, count, data) "
    "VALUES (:series_id, :start_ts, :first_ts, :last_ts, :count, :data) "
    "ON CONFLICT (series_id, start_ts) DO UPDATE SET first_ts = excluded.first_ts, "
    "last_ts = excluded.last_ts, count = excluded.count, data = excluded.data"
)


async def _compact_batch(
    session: AsyncSession, window: int, series_ids: Sequence[int], report: CompactionReport
) -> None:
    """Move the head rows of one window of these series into their chunks, and commit."""
    await lock(session)
    ids = _ids(series_ids)
    bounds = {"lo": window, "hi": window + CHUNK_MS}
    moved = await session.execute(
        text(
            f"DELETE FROM sample WHERE series_id IN ({ids}) AND ts >= :lo AND ts < :hi "
            "RETURNING series_id, ts, value"
        ),
        bounds,
    )
    # RETURNING has no ORDER BY: sort by (series, ts) here.
    rows = sorted(moved.all())
    if not rows:
        await release(session, "compaction moves samples batch by batch")
        return
    head = _columns(rows)
    existing = await session.execute(
        text(
            f"SELECT series_id, data FROM sample_chunk WHERE series_id IN ({_ids(head)}) "
            "AND start_ts = :lo"
        ),
        {"lo": window},
    )
    old = {int(sid): codec.decode(data) for sid, data in existing}
    params = []
    for series_id, (ts, values) in head.items():
        if series_id in old:
            ts, values = codec.merge(*old[series_id], ts, values)
            report.merged += 1
        params.append(
            {
                "series_id": series_id,
                "start_ts": window,
                "first_ts": int(ts[0]),
                "last_ts": int(ts[-1]),
                "count": len(ts),
                "data": codec.encode(ts, values),
            }
        )
    await session.execute(_UPSERT_CHUNK, params)
    await release(session, "compaction moves samples batch by batch")
    report.chunks += len(params)
    report.samples += len(rows)


async def compact(session: AsyncSession, now_ms: int, *, grace_ms: int) -> CompactionReport:
    """Move every window closed for `grace_ms` from the head into chunks; commit per batch."""
    report = CompactionReport()
    cutoff = window_of(now_ms - grace_ms)
    pending = await _pending(session, cutoff)
    await release(session, "compaction moves samples batch by batch")
    by_window: dict[int, list[int]] = {}
    for window, series_id in pending:
        by_window.setdefault(window, []).append(series_id)
    for window, series_ids in by_window.items():
        for k in range(0, len(series_ids), SERIES_PER_BATCH):
            await _compact_batch(session, window, series_ids[k : k + SERIES_PER_BATCH], report)
        report.windows.append(window)
    if await partitions.is_partitioned(session):
        report.released = await _release_days(session, cutoff)
    await release(session, "compaction moves samples batch by batch")
    return report


async def _release_days(session: AsyncSession, cutoff_ms: int) -> list[str]:
    """Give the space of compacted day partitions back, committing per partition.

    Deleting the head rows of a past day leaves its partition's pages and index as large as
    before: nothing else is written there, and only retention would drop it. A day whose
    windows are all compacted and which holds no row is emptied with TRUNCATE, under an
    exclusive lock, so a late sample written meanwhile is seen and kept.
    """
    released = []
    await release(session, "compaction moves samples batch by batch")
    for day in await partitions.partition_days(session):
        if day + partitions.DAY_MS > cutoff_ms:
            continue
        name = f"{partitions.SCHEMA}.{partitions.partition_name(day)}"
        held = await session.scalar(
            text(
                "SELECT pg_relation_size(CAST(:t AS regclass)) > 0 OR "
                "pg_indexes_size(CAST(:t AS regclass)) > :empty"
            ),
            {"t": name, "empty": _EMPTY_INDEXES_BYTES},
        )
        await release(session, "compaction moves samples batch by batch")
        if not held:
            continue
        try:
            await session.execute(text(f"SET LOCAL lock_timeout = '{_TRUNCATE_LOCK_TIMEOUT}'"))
            await session.execute(text(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"))
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            await session.rollback()
            continue
        if await session.scalar(text(f"SELECT EXISTS (SELECT 1 FROM {name})")):
            await session.rollback()
            continue
        await session.execute(text(f"TRUNCATE {name}"))
        await release(session, "compaction moves samples batch by batch")
        released.append(partitions.partition_name(day))
    return released


async def expire_series(session: AsyncSession, series_id: int, cutoff_ms: int) -> int:
    """Delete one series' chunks whose whole window lies before `cutoff_ms`; return the
    samples they held. The caller commits."""
    counts = await session.scalars(
        text(
            "DELETE FROM sample_chunk WHERE series_id = :series_id AND start_ts <= :last "
            "RETURNING count"
        ),
        {"series_id": series_id, "last": cutoff_ms - CHUNK_MS},
    )
    return sum(counts)


async def last_ts(session: AsyncSession, series_ids: Sequence[int]) -> int | None:
    """The time of the newest chunked sample of these series."""
    if not series_ids:
        return None
    value = await session.scalar(
        text(f"SELECT max(last_ts) FROM sample_chunk WHERE series_id IN ({_ids(series_ids)})")
    )
    return None if value is None else int(value)


async def expire(session: AsyncSession, cutoff_ms: int) -> int:
    """Delete the chunks whose whole window lies before `cutoff_ms`; the caller commits."""
    result = await session.execute(
        text("DELETE FROM sample_chunk WHERE start_ts <= :last"),
        {"last": cutoff_ms - CHUNK_MS},
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
