"""The store seen as Prometheus sees it, and queries answered from it.

Each Failcast series is a Prometheus series with the labels `__name__` (the metric), `service`
and `job` (both the service: remote_write maps Prometheus' `job` to the service), and its own
labels. A selector reads the org's series of the metric it names (or of every metric its
`__name__` matcher accepts), keeps those whose labels match, and reads their raw samples over
the span the expression needs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.models import Series as SeriesRow
from failcast.models import Service
from failcast.promql.engine import (
    LOOKBACK_MS,
    NAME,
    BadQuery,
    Labels,
    Matcher,
    Query,
    Selector,
    Series,
    Value,
    evaluate,
)
from failcast.store.samples import Aggregation, read_range


class TooLarge(ValueError):
    """The query would read more samples than one query may."""


@dataclass(frozen=True)
class Found:
    id: int
    labels: Labels


def prometheus_labels(metric: str, service: str, labels: dict[str, str]) -> Labels:
    return {"job": service, **labels, NAME: metric, "service": service}


async def metric_names(session: AsyncSession, org_id: int) -> list[str]:
    rows = await session.scalars(
        select(SeriesRow.metric).where(SeriesRow.org_id == org_id).distinct()
    )
    return sorted(rows)


async def find_series(
    session: AsyncSession, org_id: int, matchers: Iterable[Matcher]
) -> list[Found]:
    """The org's series matching every matcher, in a stable order."""
    matchers = list(matchers)
    exact = [m.value for m in matchers if m.name == NAME and m.op == "="]
    name_matchers = [m for m in matchers if m.name == NAME]
    if exact:
        names = exact[:1]
    else:
        names = [
            n
            for n in await metric_names(session, org_id)
            if all(m.matches(n) for m in name_matchers)
        ]
    if not names:
        return []
    statement = (
        select(SeriesRow.id, Service.name, SeriesRow.metric, SeriesRow.labels)
        .join(Service, Service.id == SeriesRow.service_id)
        .where(SeriesRow.org_id == org_id, SeriesRow.metric.in_(names))
        .order_by(SeriesRow.metric, Service.name, SeriesRow.labels_key)
    )
    services = [m.value for m in matchers if m.name in ("service", "job") and m.op == "="]
    if services:
        statement = statement.where(Service.name == services[0])
    found = []
    for row in (await session.execute(statement)).all():
        labels = prometheus_labels(row.metric, row.name, dict(row.labels))
        if all(m.matches(labels.get(m.name, "")) for m in matchers):
            found.append(Found(row.id, labels))
    return found


async def fetch(
    session: AsyncSession,
    org_id: int,
    query: Query,
    start_ms: int,
    end_ms: int,
    max_samples: int,
) -> dict[Selector, list[Series]]:
    """The samples every selector of `query` needs to be evaluated over [start, end]."""
    data: dict[Selector, list[Series]] = {}
    budget = max_samples
    for selector, range_ms in query.selectors:
        if selector in data:
            continue
        found = await find_series(session, org_id, selector.matchers)
        lo = start_ms - selector.offset_ms - max(range_ms, LOOKBACK_MS)
        hi = end_ms - selector.offset_ms + 1
        points = await read_range(
            session,
            [f.id for f in found],
            lo,
            hi,
            step_ms=None,
            agg=Aggregation.avg,
            limit=budget + 1,
        )
        total = sum(len(p) for p in points.values())
        if total > budget:
            raise TooLarge(
                f"the query reads more than {max_samples:,} samples; "
                "narrow the selectors or the range"
            )
        budget -= total
        data[selector] = [
            Series(
                f.labels,
                np.fromiter((p.ts for p in points[f.id]), dtype=np.int64),
                np.fromiter((p.value for p in points[f.id]), dtype=np.float64),
            )
            for f in found
        ]
    return data


async def run(
    session: AsyncSession,
    org_id: int,
    query: Query,
    steps: np.ndarray,
    max_samples: int,
) -> Value:
    """Evaluate `query` at each of `steps` (epoch ms) on the org's data."""
    if not len(steps):
        raise BadQuery("no evaluation steps")
    data = await fetch(session, org_id, query, int(steps[0]), int(steps[-1]), max_samples)
    return evaluate(query, steps, data)
