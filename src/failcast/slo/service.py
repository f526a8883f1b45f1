"""SLO status from stored samples: SLI events per minute, budget, burn rates and alert tiers.

Samples are grouped in one-minute buckets ending at the evaluation time. How each SLI becomes
good and total events per bucket:

    events      good (or bad) and total: the sums of the metrics' samples in the minute
    ratio       requests = mean `throughput_rps` (models: `traffic_rps`) x 60 s, and
                bad = ratio x requests (good with `counts: good`); without a throughput
                metric every minute weighs one event
    latency     (`intervals`) one event, good when the minute's mean `latency_p<pct>_ms`
                (or the named metric) is at most the threshold
    threshold   one event, good when the minute's mean value meets the bound

A metric reference resolves when its query is a plain metric name of the SLO's service; other
queries (PromQL from Sloth or OpenSLO files) and `latency` by `requests` (which needs a request
histogram) leave the status `unresolved` with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.kit.names import NAME_PATTERN
from failcast.models import Slo
from failcast.slo import repository
from failcast.slo.alerts import MINUTE_MS, SloStatus, evaluate_slo
from failcast.slo.budget import DAY_MS, HOUR_MS, EventSeries, burn_rates, events_from_threshold
from failcast.slo.schemas import (
    EventsSli,
    LatencySli,
    MetricRef,
    RatioSli,
    SloDefinition,
    ThresholdSli,
)
from failcast.store.ranges import Aggregation
from failcast.teams.service import EVERYTHING, Visibility

BUCKET_MS = 60_000
THROUGHPUT_METRICS = ("throughput_rps", "traffic_rps")
# Burn rates reported beside the alert tiers, by the windows the tiers use.
BURN_WINDOWS: dict[str, int] = {
    "5m": 5 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "6h": 6 * HOUR_MS,
    "3d": 3 * DAY_MS,
}
DataState = Literal["ok", "no_data", "unresolved"]
_NAME = re.compile(NAME_PATTERN)


class Unresolved(Exception):
    """An SLI that stored samples cannot answer, with the reason."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One stored SLO evaluated at `at_ms`: its events and status, or why there are none."""

    row: Slo
    slo: SloDefinition
    at_ms: int
    data: DataState
    problem: str | None
    status: SloStatus | None
    burn_rates: dict[str, float]


def _metric(ref: MetricRef) -> str:
    if not _NAME.fullmatch(ref.query):
        raise Unresolved(
            f"query {ref.query[:120]!r} ({ref.source}) is not a stored metric name;"
            " send the SLI's events as a Failcast metric and reference it by name"
        )
    return ref.query


class _Reader:
    """Reads a service's metrics in one-minute buckets over the SLO window ending at `at`."""

    def __init__(self, session: AsyncSession, org_id: int, service: str, at_ms: int, days: int):
        self.session, self.org_id, self.service = session, org_id, service
        self.end = at_ms + 1  # read_range is [start, end); the status includes `at` itself
        self.start = self.end - days * DAY_MS

    async def read(self, metric: str, agg: Aggregation) -> tuple[np.ndarray, np.ndarray] | None:
        found = await repository.bucketed(
            self.session,
            self.org_id,
            self.service,
            metric,
            self.start,
            self.end,
            BUCKET_MS,
            agg,
        )
        if found is None:
            return None
        starts, values = found
        # Stamp each bucket with its last millisecond so that a window (t - w, t] ending at
        # the evaluation time holds whole minutes.
        return starts + BUCKET_MS - 1, values


def _empty() -> EventSeries:
    return EventSeries.build([], [], [])


async def _events(reader: _Reader, sli: EventsSli) -> EventSeries:
    total = await reader.read(_metric(sli.total), Aggregation.sum)
    counted_ref = sli.good if sli.good is not None else sli.bad
    assert counted_ref is not None  # EventsSli's validator demands exactly one of them
    counted = await reader.read(_metric(counted_ref), Aggregation.sum)
    if total is None:
        return _empty()
    ts, totals = total
    values = np.zeros_like(totals)
    if counted is not None:
        lookup = dict(zip(counted[0].tolist(), counted[1].tolist(), strict=True))
        values = np.array([lookup.get(t, 0.0) for t in ts.tolist()], dtype=np.float64)
    totals = np.maximum(totals, 0.0)
    values = np.clip(values, 0.0, totals)
    good = values if sli.good is not None else totals - values
    return EventSeries.build(ts, good, totals)


async def _ratio(reader: _Reader, sli: RatioSli) -> EventSeries:
    found = await reader.read(_metric(sli.ratio), Aggregation.avg)
    if found is None:
        return _empty()
    ts, ratio = found
    ratio = np.clip(ratio, 0.0, 1.0)
    requests = np.ones_like(ratio)
    for name in THROUGHPUT_METRICS:
        throughput = await reader.read(name, Aggregation.avg)
        if throughput is not None:
            lookup = dict(zip(throughput[0].tolist(), throughput[1].tolist(), strict=True))
            rps = np.array([lookup.get(t, 0.0) for t in ts.tolist()], dtype=np.float64)
            requests = np.maximum(rps, 0.0) * (BUCKET_MS / 1000.0)
            break
    bad = ratio if sli.counts == "bad" else 1.0 - ratio
    return EventSeries.build(ts, requests * (1.0 - bad), requests)


async def _threshold(
    reader: _Reader, metric: str, op: Literal["gte", "gt", "lte", "lt"], bound: float
) -> EventSeries:
    found = await reader.read(metric, Aggregation.avg)
    if found is None:
        return _empty()
    return events_from_threshold(found[0], found[1], op, bound)


async def sli_events(
    session: AsyncSession, org_id: int, slo: SloDefinition, at_ms: int
) -> EventSeries:
    """The SLO's events per minute over its window ending at `at_ms`; raises Unresolved."""
    reader = _Reader(session, org_id, slo.service, at_ms, slo.window_days)
    sli = slo.sli
    if isinstance(sli, EventsSli):
        return await _events(reader, sli)
    if isinstance(sli, RatioSli):
        return await _ratio(reader, sli)
    if isinstance(sli, LatencySli):
        if sli.method == "requests":
            raise Unresolved(
                "latency by requests needs a request-latency histogram, which stored samples"
                " do not hold; use method: intervals with a percentile metric"
            )
        metric = _metric(sli.metric) if sli.metric else f"latency_p{sli.percentile:g}_ms"
        if not _NAME.fullmatch(metric):
            raise Unresolved(f"percentile {sli.percentile:g} has no metric name; name one")
        return await _threshold(reader, metric, "lte", sli.threshold_ms)
    assert isinstance(sli, ThresholdSli)
    return await _threshold(reader, _metric(sli.metric), sli.op, sli.value)


async def evaluate(session: AsyncSession, org_id: int, row: Slo, at_ms: int) -> Evaluation:
    """Budget, burn rates and tiers of a stored SLO at `at_ms`."""
    slo = repository.definition(row)
    try:
        series = await sli_events(session, org_id, slo, at_ms)
    except Unresolved as exc:
        return Evaluation(row, slo, at_ms, "unresolved", str(exc), None, {})
    status = evaluate_slo(slo, series, at_ms)
    rates = {
        name: float(burn_rates(series, slo.objective, window, [at_ms])[0])
        for name, window in BURN_WINDOWS.items()
    }
    rates["window"] = status.budget.consumed
    data: DataState = "ok" if status.budget.total > 0 else "no_data"
    problem = None if data == "ok" else "no events in the SLO window"
    return Evaluation(row, slo, at_ms, data, problem, status, rates)


async def evaluate_all(
    session: AsyncSession,
    org_id: int,
    at_ms: int,
    service: str | None = None,
    seen: Visibility = EVERYTHING,
) -> list[Evaluation]:
    """Every SLO of the org (or of one service) that `seen` admits, at `at_ms`."""
    rows = await repository.list_slos(session, org_id, service, seen)
    return [await evaluate(session, org_id, row, at_ms) for row in rows]
