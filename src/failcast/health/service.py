"""Health, risk and the executive summary of an org from its stored samples, SLOs and
predictions.

Every health metric is the mean of its samples over a lookback window (five minutes by
default) ending at the evaluation time; label sets of one metric are averaged together.
Stored metric names map to health metrics as follows (the first one present wins):

    accuracy               accuracy
    latency_p99_ms         latency_p99_ms, else latency_ms (what models report)
    error_rate             error_rate
    cpu_pct, memory_pct,   the same names
    disk_pct
    drift_share            drift_share, else the larger of feature_drift and prediction_drift
    schema_error_rate      schema_error_rate, else schema_errors / rows_processed
    run_success_rate       run_success_rate
    freshness_lag_minutes  freshness_lag_minutes, else freshness_lag_min

Values are clamped to the metric's range (a rate to [0, 1], a percentage to [0, 100]).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.health import repository
from failcast.health.config import METRICS, HealthConfig, MetricName
from failcast.health.org import OrgHealth, score_org
from failcast.health.risk import RiskAssessment, assess_risk
from failcast.health.score import ServiceHealth, score_service
from failcast.health.summary import executive_summary
from failcast.models import Organization, Service
from failcast.models.service import ServiceKindName
from failcast.predict.service import latest_predictions
from failcast.slo import service as slo_service
from failcast.slo.alerts import SloStatus
from failcast.teams.service import EVERYTHING, Visibility
from failcast.timeutil import ms_to_datetime

LOOKBACK_MS = 5 * 60_000
HORIZONS = (24, 48, 72)
# Predictions older than this are not evidence about now.
PREDICTION_MAX_AGE_MS = 24 * 3_600_000
NO_PREDICTIONS = "no predictions yet"

_DIRECT: dict[MetricName, tuple[str, ...]] = {
    "accuracy": ("accuracy",),
    "latency_p99_ms": ("latency_p99_ms", "latency_ms"),
    "error_rate": ("error_rate",),
    "cpu_pct": ("cpu_pct",),
    "memory_pct": ("memory_pct",),
    "disk_pct": ("disk_pct",),
    "run_success_rate": ("run_success_rate",),
    "freshness_lag_minutes": ("freshness_lag_minutes", "freshness_lag_min"),
}
DRIFT_SOURCES = ("feature_drift", "prediction_drift")
# Every stored metric the health inputs read, plus what topology reads beside them.
STORED_METRICS: tuple[str, ...] = (
    *dict.fromkeys(name for names in _DIRECT.values() for name in names),
    "drift_share",
    *DRIFT_SOURCES,
    "schema_error_rate",
    "schema_errors",
    "rows_processed",
)


@dataclass(frozen=True, slots=True)
class HealthInput:
    """A health metric's value and the stored metric(s) it came from."""

    metric: MetricName
    value: float
    source: str


def health_inputs(means: Mapping[str, float]) -> dict[MetricName, HealthInput]:
    """The health metrics found among a service's stored metric means (see module docstring)."""
    found: dict[MetricName, HealthInput] = {}
    for metric, sources in _DIRECT.items():
        for source in sources:
            if source in means:
                found[metric] = HealthInput(metric, means[source], source)
                break
    if "drift_share" in means:
        found["drift_share"] = HealthInput("drift_share", means["drift_share"], "drift_share")
    else:
        drifts = [(means[s], s) for s in DRIFT_SOURCES if s in means]
        if drifts:
            value, source = max(drifts)
            found["drift_share"] = HealthInput("drift_share", value, source)
    if "schema_error_rate" in means:
        value = means["schema_error_rate"]
        found["schema_error_rate"] = HealthInput("schema_error_rate", value, "schema_error_rate")
    elif "schema_errors" in means and means.get("rows_processed", 0.0) > 0.0:
        value = means["schema_errors"] / means["rows_processed"]
        source = "schema_errors / rows_processed"
        found["schema_error_rate"] = HealthInput("schema_error_rate", value, source)
    clamped: dict[MetricName, HealthInput] = {}
    for metric, item in found.items():
        if not math.isfinite(item.value):
            continue
        info = METRICS[metric]
        value = min(info.high, max(info.low, item.value))
        clamped[metric] = HealthInput(metric, value, item.source)
    return clamped


def tier_of(service: Service) -> int:
    """Catalogue tiers run 0-5; health weighs tiers 1-3 (0 counts as 1, 4 and 5 as 3)."""
    return 2 if service.tier is None else min(3, max(1, service.tier))


@dataclass(frozen=True)
class ServiceSnapshot:
    """A catalogue service with its health and the inputs behind it."""

    id: int
    name: str
    kind: ServiceKindName
    tier: int
    health: ServiceHealth
    inputs: dict[MetricName, HealthInput]
    means: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetHealth:
    """Every service's health at one instant, with the config that scored it."""

    at_ms: int
    window_ms: int
    config: HealthConfig
    services: list[ServiceSnapshot]

    def by_name(self) -> dict[str, ServiceSnapshot]:
        return {s.name: s for s in self.services}


async def fleet_health(
    session: AsyncSession,
    org_id: int,
    at_ms: int,
    window_ms: int = LOOKBACK_MS,
    extra_metrics: Sequence[str] = (),
    seen: Visibility = EVERYTHING,
) -> FleetHealth:
    """Health of every catalogue service `seen` admits, from its metric means over
    (at - window, at]."""
    config = await repository.load_config(session, org_id)
    services = [s for s in await repository.services(session, org_id) if seen.admits(s.name)]
    metrics = (*STORED_METRICS, *extra_metrics)
    means = await repository.metric_means(session, org_id, metrics, at_ms - window_ms, at_ms)
    snapshots = []
    for service in services:
        own = means.get(service.name, {})
        inputs = health_inputs(own)
        kind = cast(ServiceKindName, service.kind)
        tier = tier_of(service)
        values: dict[str, float | None] = {m: item.value for m, item in inputs.items()}
        health = score_service(service.name, kind, values, config, tier=tier)
        snapshots.append(ServiceSnapshot(service.id, service.name, kind, tier, health, inputs, own))
    return FleetHealth(at_ms, window_ms, config, snapshots)


def formula(health: ServiceHealth) -> str:
    """The weighted mean written out, `0.385 x 52.0 + 0.308 x 55.0 = 36.9`, and the ceiling of
    the status when it applies: `0.500 x 100.0 + 0.500 x 34.7 = 67.3, capped at 59 (critical)`."""
    if health.score is None:
        return "no component has data"
    terms = " + ".join(f"{c.share:.3f} x {c.score:.1f}" for c in health.components)
    mean = health.score if health.weighted_mean is None else health.weighted_mean
    written = f"{terms} = {mean:.1f}"
    if health.capped():
        written += f", capped at {health.score:g} ({health.status})"
    return written


@dataclass(frozen=True)
class Predictions:
    """Newest per-service failure probabilities by horizon, with their time."""

    probabilities: dict[str, dict[int, float]]
    at: dict[str, datetime]
    note: str | None  # NO_PREDICTIONS when the org has none usable


async def predictions(
    session: AsyncSession, org_id: int, at_ms: int, seen: Visibility = EVERYTHING
) -> Predictions:
    """The active model's newest predictions made in the day before `at_ms` about the services
    `seen` admits, at the horizons that risk is assessed on (`HORIZONS`; a 1 h figure is
    shown, but not a risk input)."""
    probabilities: dict[str, dict[int, float]] = {}
    times: dict[str, datetime] = {}
    low = ms_to_datetime(at_ms - PREDICTION_MAX_AGE_MS)
    high = ms_to_datetime(at_ms)
    for item in await latest_predictions(session, org_id):
        if not low <= item.ts <= high or not seen.admits(item.service):
            continue
        probabilities[item.service] = {h: p for h, p in item.probabilities.items() if h in HORIZONS}
        times[item.service] = item.ts
    return Predictions(probabilities, times, None if probabilities else NO_PREDICTIONS)


@dataclass(frozen=True)
class OrgRisk:
    """Health, predictions, SLOs and the risk of every service, with the summary."""

    name: str
    fleet: FleetHealth
    org: OrgHealth
    predictions: Predictions
    slos: list[slo_service.Evaluation]
    risks: list[RiskAssessment]
    summary: str

    def slo_statuses(self, service: str | None = None) -> list[SloStatus]:
        return [
            e.status
            for e in self.slos
            if e.status is not None
            and e.data == "ok"
            and (service is None or e.slo.service == service)
        ]


async def org_risk(
    session: AsyncSession,
    org_id: int,
    at_ms: int,
    window_ms: int = LOOKBACK_MS,
    seen: Visibility = EVERYTHING,
) -> OrgRisk:
    """Everything the org-level health and risk answers need, evaluated at `at_ms` over the
    services `seen` admits (the org's score and summary too)."""
    org_name = str(await session.scalar(select(Organization.name).where(Organization.id == org_id)))
    fleet = await fleet_health(session, org_id, at_ms, window_ms, seen=seen)
    org = score_org([s.health for s in fleet.services], fleet.config)
    found = await predictions(session, org_id, at_ms, seen)
    slos = await slo_service.evaluate_all(session, org_id, at_ms, seen=seen)
    partial = OrgRisk(org_name, fleet, org, found, slos, [], "")
    risks = [
        assess_risk(
            s.name,
            health=s.health,
            failure_probability=found.probabilities.get(s.name),
            slos=partial.slo_statuses(s.name),
        )
        for s in fleet.services
    ]
    summary = executive_summary(org_name, org, risks, partial.slo_statuses())
    return OrgRisk(org_name, fleet, org, found, slos, risks, summary)
