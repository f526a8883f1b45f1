from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.errors import NotFound
from failcast.models import Sample, Series, Service
from failcast.store import chunks
from failcast.store.remote import samples_engine
from failcast.timeutil import now_ms


async def get_service(session: AsyncSession, org_id: int, service_id: int) -> Service:
    """The org's service, or NotFound: another org's id is indistinguishable from a missing one."""
    service = await session.scalar(
        select(Service).where(Service.id == service_id, Service.org_id == org_id)
    )
    if service is None:
        raise NotFound("service not found")
    return service


async def find_service(session: AsyncSession, org_id: int, name: str) -> Service | None:
    return await session.scalar(
        select(Service).where(Service.org_id == org_id, Service.name == name)
    )


async def list_services(session: AsyncSession, org_id: int) -> list[Service]:
    rows = await session.scalars(
        select(Service).where(Service.org_id == org_id).order_by(Service.name)
    )
    return list(rows)


async def service_metrics(session: AsyncSession, service_id: int) -> tuple[list[str], int]:
    rows = await session.execute(
        select(Series.metric, func.count())
        .where(Series.service_id == service_id)
        .group_by(Series.metric)
    )
    pairs = sorted(rows)
    return [metric for metric, _ in pairs], sum(count for _, count in pairs)


async def last_sample_ms(session: AsyncSession, service_id: int) -> int | None:
    series_ids = select(Series.id).where(Series.service_id == service_id)
    if (remote := samples_engine(session)) is not None:
        rows = (await session.execute(series_ids.add_columns(Series.org_id))).all()
        if not rows:
            return None
        summary = await remote.queries.summary(rows[0].org_id, [row.id for row in rows], now_ms())
        return summary.newest_ms
    value: int | None = await session.scalar(
        select(func.max(Sample.ts)).where(Sample.series_id.in_(series_ids))
    )
    chunked = await chunks.last_ts(session, list(await session.scalars(series_ids)))
    return max((v for v in (value, chunked) if v is not None), default=None)
