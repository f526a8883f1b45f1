"""Stored SLO definitions of an org, and the metric samples their SLIs read."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.base import utcnow
from failcast.errors import Conflict, NotFound
from failcast.models import Series, Service, Slo
from failcast.slo.schemas import SloDefinition
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range
from failcast.teams.service import EVERYTHING, Visibility

# More buckets than a 30-day window of minutes holds, times a generous number of label sets.
MAX_POINTS = 5_000_000


async def list_slos(
    session: AsyncSession,
    org_id: int,
    service: str | None = None,
    seen: Visibility = EVERYTHING,
) -> list[Slo]:
    """The org's SLOs of the services `seen` admits by service and name, optionally of one
    service only."""
    statement = (
        select(Slo)
        .where(Slo.org_id == org_id, seen.where(Slo.service))
        .order_by(Slo.service, Slo.name)
    )
    if service is not None:
        statement = statement.where(Slo.service == service)
    return list(await session.scalars(statement))


async def get_slo(
    session: AsyncSession, org_id: int, slo_id: int, seen: Visibility = EVERYTHING
) -> Slo:
    """The org's SLO, or NotFound: another org's id, or one of a service `seen` does not
    admit, looks exactly like a missing one."""
    row = await session.scalar(select(Slo).where(Slo.id == slo_id, Slo.org_id == org_id))
    if row is None or not seen.admits(row.service):
        raise NotFound("SLO not found")
    return row


async def find_slo(session: AsyncSession, org_id: int, service: str, name: str) -> Slo | None:
    return await session.scalar(
        select(Slo).where(Slo.org_id == org_id, Slo.service == service, Slo.name == name)
    )


def definition(row: Slo) -> SloDefinition:
    return SloDefinition.model_validate(row.definition)


def apply(row: Slo, slo: SloDefinition) -> None:
    row.name = slo.name
    row.service = slo.service
    row.definition = slo.model_dump(mode="json")
    row.updated_at = utcnow()


async def create(session: AsyncSession, org_id: int, slo: SloDefinition) -> Slo:
    if await find_slo(session, org_id, slo.service, slo.name) is not None:
        raise Conflict(f"service {slo.service} already has an SLO named {slo.name}")
    row = Slo(org_id=org_id, created_at=utcnow())
    apply(row, slo)
    session.add(row)
    await session.flush()
    return row


async def update(session: AsyncSession, org_id: int, row: Slo, slo: SloDefinition) -> Slo:
    other = await find_slo(session, org_id, slo.service, slo.name)
    if other is not None and other.id != row.id:
        raise Conflict(f"service {slo.service} already has an SLO named {slo.name}")
    apply(row, slo)
    await session.flush()
    return row


async def bucketed(
    session: AsyncSession,
    org_id: int,
    service: str,
    metric: str,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    agg: Aggregation,
) -> tuple[np.ndarray, np.ndarray] | None:
    """(bucket start times, values) of a service's metric in [start, end), one value per
    bucket: the mean (agg avg) or the sum (agg sum) over every label set. None when the
    service has no series of that metric."""
    ids = list(
        await session.scalars(
            select(Series.id)
            .join(Service, Service.id == Series.service_id)
            .where(Series.org_id == org_id, Service.name == service, Series.metric == metric)
        )
    )
    if not ids:
        return None
    points = await read_range(
        session, ids, start_ms, end_ms, step_ms=step_ms, agg=agg, limit=MAX_POINTS
    )
    per_bucket: dict[int, list[float]] = defaultdict(list)
    for series_points in points.values():
        for point in series_points:
            per_bucket[point.ts].append(point.value)
    ts = np.array(sorted(per_bucket), dtype=np.int64)
    combine = np.sum if agg is Aggregation.sum else np.mean
    values = np.array([float(combine(per_bucket[t])) for t in ts.tolist()], dtype=np.float64)
    return ts, values
