"""Health queries: the org's stored config, its services and recent metric means."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.base import utcnow
from failcast.health.config import HealthConfig
from failcast.models import HealthConfigRow, Sample, Series, Service
from failcast.store.ranges import Aggregation
from failcast.store.remote import remote_backend
from failcast.store.samples import read_range


async def load_config(session: AsyncSession, org_id: int) -> HealthConfig:
    """The org's health config; the built-in defaults until one is stored."""
    row = await session.scalar(select(HealthConfigRow).where(HealthConfigRow.org_id == org_id))
    if row is None:
        return HealthConfig()
    return HealthConfig.model_validate(row.config)


async def save_config(session: AsyncSession, org_id: int, config: HealthConfig) -> None:
    """Store `config` as the org's (the caller commits)."""
    body = config.model_dump(mode="json", exclude_none=True)
    row = await session.scalar(select(HealthConfigRow).where(HealthConfigRow.org_id == org_id))
    if row is None:
        session.add(HealthConfigRow(org_id=org_id, config=body, updated_at=utcnow()))
    else:
        row.config = body
        row.updated_at = utcnow()
    await session.flush()


async def services(session: AsyncSession, org_id: int) -> list[Service]:
    rows = await session.scalars(
        select(Service).where(Service.org_id == org_id).order_by(Service.name)
    )
    return list(rows)


async def metric_means(
    session: AsyncSession, org_id: int, metrics: Iterable[str], start_ms: int, end_ms: int
) -> dict[str, dict[str, float]]:
    """{service: {metric: mean}} over samples in (start, end]; label sets are averaged together."""
    names = sorted(set(metrics))
    if not names:
        return {}
    if remote_backend(session) is not None:
        return await _engine_means(session, org_id, names, start_ms, end_ms)
    rows = await session.execute(
        select(Service.name, Series.metric, func.avg(Sample.value))
        .select_from(Sample)
        .join(Series, Series.id == Sample.series_id)
        .join(Service, Service.id == Series.service_id)
        .where(
            Series.org_id == org_id,
            Series.metric.in_(names),
            Sample.ts > start_ms,
            Sample.ts <= end_ms,
        )
        .group_by(Service.name, Series.metric)
    )
    means: dict[str, dict[str, float]] = {}
    for service, metric, value in rows:
        if value is not None:
            means.setdefault(str(service), {})[str(metric)] = float(value)
    return means


async def _engine_means(
    session: AsyncSession, org_id: int, names: list[str], start_ms: int, end_ms: int
) -> dict[str, dict[str, float]]:
    """`metric_means` over a metrics engine: each series' sum and count over the window, added
    up per (service, metric), so the mean weighs every sample alike as SQL's avg does."""
    rows = (
        await session.execute(
            select(Series.id, Service.name, Series.metric)
            .join(Service, Service.id == Series.service_id)
            .where(Series.org_id == org_id, Series.metric.in_(names))
        )
    ).all()
    ids = [row.id for row in rows]
    # (start, end] in whole milliseconds is [start + 1, end + 1), one bucket wide.
    window = {"step_ms": end_ms - start_ms, "limit": len(ids) + 1}
    sums = await read_range(session, ids, start_ms + 1, end_ms + 1, agg=Aggregation.sum, **window)
    counts = await read_range(
        session, ids, start_ms + 1, end_ms + 1, agg=Aggregation.count_, **window
    )
    totals: dict[tuple[str, str], list[float]] = {}
    for row in rows:
        if sums[row.id]:
            pair = totals.setdefault((row.name, row.metric), [0.0, 0.0])
            pair[0] += sums[row.id][0].value
            pair[1] += counts[row.id][0].value
    means: dict[str, dict[str, float]] = {}
    for (service, metric), (total, count) in totals.items():
        means.setdefault(service, {})[metric] = total / count
    return means
