"""Plan-based retention: delete each org's samples and logs older than its plan keeps.

Deletes run in batches of `batch` rows, each in its own short transaction, so ingestion keeps
writing while old data goes. Samples are deleted per series along the (series_id, ts) key, and
a series' compressed chunks whole, once their window lies entirely before the cutoff.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.billing import repository
from failcast.db.engine import Database
from failcast.db.transactions import release, session_scope
from failcast.models import LogEntry, Organization, Sample, Series
from failcast.store import chunks


async def _delete_series_before(
    session: AsyncSession, series_id: int, cutoff_ms: int, batch: int
) -> int:
    deleted = 0
    while True:
        # The batch's newest timestamp: deleting up to it removes at most `batch` rows.
        bound = await session.scalar(
            select(Sample.ts)
            .where(Sample.series_id == series_id, Sample.ts < cutoff_ms)
            .order_by(Sample.ts)
            .offset(batch - 1)
            .limit(1)
        )
        upper = Sample.ts <= bound if bound is not None else Sample.ts < cutoff_ms
        result = await session.execute(delete(Sample).where(Sample.series_id == series_id, upper))
        await release(session, "retention deletes in short batches")
        count = int(getattr(result, "rowcount", 0) or 0)
        deleted += count
        if bound is None or count == 0:
            break
    deleted += await chunks.expire_series(session, series_id, cutoff_ms)
    await release(session, "retention deletes in short batches")
    return deleted


async def _delete_logs_before(
    session: AsyncSession, org_id: int, cutoff_ms: int, batch: int
) -> int:
    deleted = 0
    while True:
        ids = list(
            await session.scalars(
                select(LogEntry.id)
                .where(LogEntry.org_id == org_id, LogEntry.ts < cutoff_ms)
                .limit(batch)
            )
        )
        if not ids:
            return deleted
        await session.execute(delete(LogEntry).where(LogEntry.id.in_(ids)))
        await release(session, "retention deletes in short batches")
        deleted += len(ids)


async def apply_org(
    session: AsyncSession, org_id: int, now: datetime, batch: int
) -> tuple[int, int]:
    """(samples, logs) deleted for one org; nothing when its plan keeps data forever."""
    limits = await repository.org_limits(session, org_id)
    if limits.retention_days is None:
        return 0, 0
    cutoff_ms = int((now - timedelta(days=limits.retention_days)).timestamp() * 1000)
    series_ids = list(await session.scalars(select(Series.id).where(Series.org_id == org_id)))
    await release(session, "retention deletes in short batches")
    samples = 0
    for series_id in series_ids:
        samples += await _delete_series_before(session, series_id, cutoff_ms, batch)
    logs = await _delete_logs_before(session, org_id, cutoff_ms, batch)
    return samples, logs


async def apply_all(database: Database, now: datetime, batch: int) -> tuple[int, int]:
    """Retention for every org; returns the (samples, logs) deleted."""
    async with session_scope(database) as session:
        org_ids = list(await session.scalars(select(Organization.id).order_by(Organization.id)))
    samples = logs = 0
    for org_id in org_ids:
        async with session_scope(database) as session:
            s, n = await apply_org(session, org_id, now, batch)
        samples, logs = samples + s, logs + n
    return samples, logs
