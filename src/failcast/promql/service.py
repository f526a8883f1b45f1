"""The store seen as Prometheus sees it, and queries answered from it.

Each Failcast series is a Prometheus series with the labels `__name__` (the metric), `service`
and `job` (both the service: remote_write maps Prometheus' `job` to the service), and its own
labels. A selector finds its series through the label index (store/series.py), and reads
their raw samples over the span the expression needs. `job` is not in the index: it is the
series' own `job` label or else its service, so a selector whose only narrowing matcher is on
`job` looks for both and keeps the series whose resulting labels match.

Failcast's own results (`failcast_*`, see integrations/results.py) are series too: each holds
its current value, taken when the query runs, and `failcast_incident_probability` also holds
every stored prediction, so its history charts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import numpy as np
from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.integrations.exporters import PREFIX, ExportedSample
from failcast.models import FailurePrediction, SeriesLabel, Service
from failcast.models import Series as SeriesRow
from failcast.promql.engine import NAME, Matcher, evaluate
from failcast.promql.expr import LOOKBACK_MS, BadQuery, Labels, Query, Selector, Series, Value
from failcast.store import series as store
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range
from failcast.teams.service import EVERYTHING, Visibility
from failcast.timeutil import ms_to_datetime, now_ms

Results = Callable[[AsyncSession, int], Awaitable[list[ExportedSample]]]
PROBABILITY = PREFIX + "incident_probability"
JOB = "job"


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
    names = set(await store.metric_names(session, org_id))
    if results is not None:
        names |= {_result_labels(r)[NAME] for r in await results(session, org_id)}
    return sorted(names)


async def label_names(
    session: AsyncSession, org_id: int, results: Results | None = None
) -> list[str]:
    """Every label name of the org's series and of Failcast's results."""
    names = set(await store.label_names(session, org_id))
    if await store.metric_names(session, org_id):
        names |= {NAME, "service", "job"}
    if results is not None:
        names |= {name for r in await results(session, org_id) for name in _result_labels(r)}
    return sorted(names)


async def label_values(
    session: AsyncSession, org_id: int, name: str, results: Results | None = None
) -> list[str]:
    """Every value of one label on the org's series and on Failcast's results."""
    if name == NAME:
        return await metric_names(session, org_id, results)
    values = set(await store.label_values(session, org_id, name))
    if name == JOB:
        values |= set(await _services_without_job(session, org_id))
    if results is not None:
        for r in await results(session, org_id):
            value = _result_labels(r).get(name, "")
            if value:
                values.add(value)
    return sorted(values)


async def _services_without_job(session: AsyncSession, org_id: int) -> list[str]:
    """Services with a series that has no `job` label: their name is the series' job."""
    own_job = exists().where(SeriesLabel.series_id == SeriesRow.id, SeriesLabel.name == JOB)
    without = exists().where(SeriesRow.service_id == Service.id, ~own_job)
    rows = await session.scalars(
        select(Service.name).where(Service.org_id == org_id, without).order_by(Service.name)
    )
    return list(rows)


async def result_series(
    session: AsyncSession,
    org_id: int,
    matchers: Iterable[Matcher],
    results: Results,
    span: tuple[int, int] | None = None,
    seen: Visibility = EVERYTHING,
) -> list[Series]:
    """Failcast's results that match, of the services `seen` admits: current values, stamped
    now, and for the incident probability also the stored predictions over `span` (epoch ms)."""
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
        if not seen.admits(labels.get("service")):
            continue
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
            if seen.admits(service) and all(m.matches(labels.get(m.name, "")) for m in matchers):
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
    session: AsyncSession, org_id: int, matchers: Iterable[Matcher], seen: Visibility = EVERYTHING
) -> list[Found]:
    """The org's series matching every matcher, by metric, service and labels, of the services
    `seen` admits."""
    matchers = list(matchers)
    rest = [m for m in matchers if m.name != JOB]
    if any(not m.matches_empty for m in rest):
        ids = await store.series_ids(session, org_id, rest)
    else:
        # Only a `job` matcher narrows: the job is the series' own label, or else its service.
        job = next((m for m in matchers if m.name == JOB and not m.matches_empty), None)
        if job is None:
            raise BadQuery("vector selector must contain at least one non-empty matcher")
        by_service = Matcher("service", job.op, job.value)
        ids = await store.series_ids(session, org_id, [*rest, job])
        ids |= await store.series_ids(session, org_id, [*rest, by_service])
    found = []
    for row in await store.describe(session, ids):
        if not seen.admits(row.service):
            continue
        labels = prometheus_labels(row.metric, row.service, row.labels)
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
    seen: Visibility = EVERYTHING,
) -> dict[Selector, list[Series]]:
    """The samples every selector of `query` needs to be evaluated over [start, end]."""
    data: dict[Selector, list[Series]] = {}
    budget = max_samples
    for selector, range_ms in query.selectors:
        if selector in data:
            continue
        found = await find_series(session, org_id, selector.matchers, seen)
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
                session, org_id, selector.matchers, results, (lo, hi), seen
            )
    return data


async def run(
    session: AsyncSession,
    org_id: int,
    query: Query,
    steps: np.ndarray,
    max_samples: int,
    results: Results | None = None,
    seen: Visibility = EVERYTHING,
) -> Value:
    """Evaluate `query` at each of `steps` (epoch ms) on the data of the org's services that
    `seen` admits."""
    if not len(steps):
        raise BadQuery("no evaluation steps")
    data = await fetch(
        session, org_id, query, int(steps[0]), int(steps[-1]), max_samples, results, seen
    )
    return evaluate(query, steps, data)
