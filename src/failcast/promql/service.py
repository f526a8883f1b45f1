"""The store seen as Prometheus sees it, and queries answered from it.

Each Failcast series is a Prometheus series with the labels `__name__` (the metric), `service`
and `job` (both the service: remote_write maps Prometheus' `job` to the service), and its own
labels. A selector reads the org's series of the metric it names (or of every metric its
`__name__` matcher accepts), keeps those whose labels match, and reads their raw samples over
the span the expression needs.

Failcast's own results (`failcast_*`, see integrations/results.py) are series too: each holds
its current value, taken when the query runs, and `failcast_incident_probability` also holds
every stored prediction, so its history charts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.integrations.exporters import PREFIX, ExportedSample
from failcast.models import FailurePrediction, Service
from failcast.models import Series as SeriesRow
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
from failcast.timeutil import ms_to_datetime, now_ms

Results = Callable[[AsyncSession, int], Awaitable[list[ExportedSample]]]
PROBABILITY = PREFIX + "incident_probability"


class TooLarge(ValueError):
    """The query would read more samples than one query may."""


@dataclass(frozen=True)
class Found:
    id: int
    labels: Labels


def prometheus_labels(metric: str, service: str, labels: dict[str, str]) -> Labels:
    return {"job": service, **labels, NAME: metric, "service": service}


def _result_labels(sample: ExportedSample) -> Labels:
    name = sample.name if sample.name.startswith(PREFIX) else PREFIX + sample.name
    return {**sample.labels, NAME: name}


async def metric_names(
    session: AsyncSession, org_id: int, results: Results | None = None
) -> list[str]:
    rows = await session.scalars(
        select(SeriesRow.metric).where(SeriesRow.org_id == org_id).distinct()
    )
    names = set(rows)
    if results is not None:
        names |= {_result_labels(r)[NAME] for r in await results(session, org_id)}
    return sorted(names)


async def result_series(
    session: AsyncSession,
    org_id: int,
    matchers: Iterable[Matcher],
    results: Results,
    span: tuple[int, int] | None = None,
) -> list[Series]:
    """Failcast's results that match: current values, stamped now, and for the incident
    probability also the stored predictions over `span` (epoch ms)."""
    matchers = list(matchers)
    exact = [m.value for m in matchers if m.name == NAME and m.op == "="]
    if exact and not exact[0].startswith(PREFIX):
        return []
    now = now_ms()
    # Current values belong to the present: a query that ends a moment ago still sees them
    # (stamped at its end), one that ends more than the lookback ago does not.
    stamp = now if span is None else min(now, span[1] - 1)
    current = span is None or span[1] > now - LOOKBACK_MS
    found: dict[tuple[tuple[str, str], ...], tuple[Labels, list[tuple[int, float]]]] = {}
    for sample in await results(session, org_id) if current else []:
        labels = _result_labels(sample)
        if all(m.matches(labels.get(m.name, "")) for m in matchers):
            key = tuple(sorted(labels.items()))
            found.setdefault(key, (labels, []))[1].append((stamp, sample.value))
    probability = {NAME: PROBABILITY}
    if span is not None and all(m.matches(probability[NAME]) for m in matchers if m.name == NAME):
        rows = await session.execute(
            select(
                Service.name,
                FailurePrediction.horizon_h,
                FailurePrediction.ts,
                FailurePrediction.probability,
            )
            .join(Service, Service.id == FailurePrediction.service_id)
            .where(
                FailurePrediction.org_id == org_id,
                FailurePrediction.shadow.is_(False),
                FailurePrediction.ts >= ms_to_datetime(span[0]),
                FailurePrediction.ts <= ms_to_datetime(span[1]),
            )
            .order_by(FailurePrediction.ts)
        )
        for service, horizon, ts, value in rows:
            labels = {NAME: PROBABILITY, "service": service, "horizon": f"{horizon}h"}
            if all(m.matches(labels.get(m.name, "")) for m in matchers):
                key = tuple(sorted(labels.items()))
                stamp = round(ts.timestamp() * 1000)
                found.setdefault(key, (labels, []))[1].append((stamp, float(value)))
    series = []
    for labels, points in found.values():
        points.sort()
        series.append(
            Series(
                labels,
                np.array([t for t, _ in points], dtype=np.int64),
                np.array([v for _, v in points], dtype=np.float64),
            )
        )
    return series


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
    results: Results | None = None,
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
        if results is not None:
            data[selector] += await result_series(
                session, org_id, selector.matchers, results, (lo, hi)
            )
    return data


async def run(
    session: AsyncSession,
    org_id: int,
    query: Query,
    steps: np.ndarray,
    max_samples: int,
    results: Results | None = None,
) -> Value:
    """Evaluate `query` at each of `steps` (epoch ms) on the org's data."""
    if not len(steps):
        raise BadQuery("no evaluation steps")
    data = await fetch(session, org_id, query, int(steps[0]), int(steps[-1]), max_samples, results)
    return evaluate(query, steps, data)
