"""Finding series: every series of one metric, optionally of one service, matching labels."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.models import Series, Service


class SelectedSeries(NamedTuple):
    id: int
    service: str
    metric: str
    labels: dict[str, str]


async def select_series(
    session: AsyncSession,
    org_id: int,
    metric: str,
    service: str | None,
    matchers: Mapping[str, str],
) -> list[SelectedSeries]:
    """The org's series of `metric` (of one service, if named) whose labels match exactly."""
    # Plain columns rather than Series objects: the identity map and instance state cost more
    # than the rest of a one-series query.
    statement = (
        select(Series.id, Service.name, Series.metric, Series.labels)
        .join(Service, Service.id == Series.service_id)
        .where(Series.org_id == org_id, Series.metric == metric)
        .order_by(Service.name, Series.labels_key)
    )
    if service is not None:
        statement = statement.where(Service.name == service)
    rows = await session.execute(statement)
    return [
        SelectedSeries(row.id, row.name, row.metric, dict(row.labels))
        for row in rows.all()
        if all(row.labels.get(k) == v for k, v in matchers.items())
    ]
