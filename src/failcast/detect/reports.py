"""Drift of ML model services and forecasts of service metrics, read from the store."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.detect.bounds import metric_bounds
from failcast.detect.breach import BreachForecast, time_to_breach
from failcast.detect.drift import DriftThresholds, drift
from failcast.detect.trend import PathPoint, forecast_path
from failcast.errors import NotFound, ValidationFailed
from failcast.models import AlertRule, PredictionEvent, Series, Service, ServiceKind
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range
from failcast.store.series import select_series

HOUR_MS = 3_600_000
# The simulator (and exporters like it) report drift directly, on the PSI scale.
REPORTED_DRIFT = ("feature_drift", "prediction_drift")
PREDICTION_METRIC = "prediction"
MIN_WINDOW_POINTS = 20
MAX_EVENTS = 20_000
FORECAST_POINTS = 600  # history points fitted and returned, downsampled to this many
# Limits for well-known metrics, used when no threshold rule of the org names the metric.
DEFAULT_LIMITS: dict[str, tuple[float, str]] = {
    "cpu_pct": (95.0, "above"),
    "memory_pct": (95.0, "above"),
    "disk_pct": (95.0, "above"),
    "saturation": (0.95, "above"),
    "error_rate": (0.05, "above"),
    "availability": (0.99, "below"),
    "accuracy": (0.8, "below"),
    "run_success_rate": (0.9, "below"),
}


@dataclass(frozen=True, slots=True)
class FeatureDrift:
    """Drift of one feature (or prediction) of a model between two windows."""

    feature: str
    source: str  # "reported", "prediction" or "features"
    severity: float
    drifted: bool
    psi: float | None
    ks: float | None = None
    ks_pvalue: float | None = None
    wasserstein: float | None = None
    jensen_shannon: float | None = None
    n_reference: int = 0
    n_current: int = 0


@dataclass(frozen=True, slots=True)
class DriftReport:
    service: str
    reference: tuple[int, int]
    current: tuple[int, int]
    features: list[FeatureDrift] = field(default_factory=list)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


async def _service(session: AsyncSession, org_id: int, name: str) -> Service:
    service = await session.scalar(
        select(Service).where(Service.org_id == org_id, Service.name == name)
    )
    if service is None:
        raise NotFound(f"no service named {name!r}")
    return service


def _name(metric: str, labels: Mapping[str, str]) -> str:
    if not labels:
        return metric
    inner = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return f"{metric}{{{inner}}}"


def _compare(
    feature: str, source: str, ref: Sequence[float], cur: Sequence[float], th: DriftThresholds
) -> FeatureDrift | None:
    if len(ref) < MIN_WINDOW_POINTS or len(cur) < MIN_WINDOW_POINTS:
        return None
    r = drift(feature, ref, cur, th)
    return FeatureDrift(
        feature=feature,
        source=source,
        severity=round(r.severity, 6),
        drifted=r.drifted,
        psi=_finite(r.psi),
        ks=_finite(r.ks),
        ks_pvalue=_finite(r.ks_pvalue),
        wasserstein=_finite(r.wasserstein),
        jensen_shannon=_finite(r.jensen_shannon),
        n_reference=len(ref),
        n_current=len(cur),
    )


async def drift_report(
    session: AsyncSession,
    org_id: int,
    service_name: str,
    now: int,
    *,
    current_ms: int = 6 * HOUR_MS,
    reference_ms: int = 7 * 24 * HOUR_MS,
    thresholds: DriftThresholds | None = None,
) -> DriftReport:
    """Features and predictions of an ML model service, most drifted first.

    The current window is (now - current, now]; the reference window is the `reference_ms`
    before it. Reported drift metrics are taken as they are (their latest value, as PSI);
    logged predictions and numeric features are compared window against window.
    """
    th = thresholds or DriftThresholds()
    service = await _service(session, org_id, service_name)
    if service.kind != ServiceKind.ml_model:
        raise ValidationFailed(
            [{"field": "service", "msg": f"{service_name!r} is a {service.kind}, not an ML model"}]
        )
    cur_start = now - current_ms
    ref_start = cur_start - reference_ms
    report = DriftReport(service_name, (ref_start, cur_start), (cur_start, now))
    rows = await session.execute(
        select(Series.id, Series.metric, Series.labels).where(
            Series.service_id == service.id,
            Series.metric.in_((*REPORTED_DRIFT, PREDICTION_METRIC)),
        )
    )
    series = [(i, m, dict(labels)) for i, m, labels in rows]
    points = await read_range(
        session,
        [s[0] for s in series],
        ref_start + 1,
        now + 1,
        step_ms=None,
        agg=Aggregation.avg,
        limit=MAX_EVENTS * max(1, len(series)),
    )
    found: list[FeatureDrift] = []
    for series_id, metric, labels in series:
        ref = [p.value for p in points[series_id] if p.ts <= cur_start]
        cur = [p.value for p in points[series_id] if p.ts > cur_start]
        if metric in REPORTED_DRIFT:
            if cur:
                value = cur[-1]
                found.append(
                    FeatureDrift(
                        feature=_name(metric, labels),
                        source="reported",
                        severity=round(value / th.psi, 6),
                        drifted=value >= th.psi,
                        psi=value,
                        n_current=len(cur),
                    )
                )
            continue
        item = _compare(_name(metric, labels), "prediction", ref, cur, th)
        if item is not None:
            found.append(item)
    events = await session.execute(
        select(PredictionEvent.predicted_at, PredictionEvent.features)
        .where(
            PredictionEvent.service_id == service.id,
            PredictionEvent.predicted_at > ref_start,
            PredictionEvent.predicted_at <= now,
        )
        .order_by(PredictionEvent.predicted_at.desc())
        .limit(MAX_EVENTS)
    )
    ref_features: dict[str, list[float]] = {}
    cur_features: dict[str, list[float]] = {}
    for ts, features in events:
        target = cur_features if ts > cur_start else ref_features
        for name, value in (features or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                target.setdefault(str(name), []).append(float(value))
    for name in sorted(set(ref_features) & set(cur_features)):
        item = _compare(name, "features", ref_features[name], cur_features[name], th)
        if item is not None:
            found.append(item)
    found.sort(key=lambda f: (-f.severity, f.feature))
    report.features.extend(found)
    return report


async def ml_services(session: AsyncSession, org_id: int, name: str | None) -> list[str]:
    statement = select(Service.name).where(
        Service.org_id == org_id, Service.kind == ServiceKind.ml_model
    )
    if name is not None:
        statement = statement.where(Service.name == name)
    return list(await session.scalars(statement.order_by(Service.name)))


# -- forecasts ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Forecast:
    service: str
    metric: str
    labels: dict[str, str]
    threshold: float
    direction: str
    history: list[tuple[int, float]]
    path: list[PathPoint]
    breach: BreachForecast | None


async def metric_series(
    session: AsyncSession,
    org_id: int,
    metric: str,
    service: str | None,
    matchers: Mapping[str, str],
) -> list[tuple[int, str, dict[str, str]]]:
    """(series id, service name, labels) of one metric, optionally of one service."""
    found = await select_series(session, org_id, metric, service, matchers)
    return [(series.id, series.service, series.labels) for series in found]


async def recent(
    session: AsyncSession, series_ids: Sequence[int], now: int, window_hours: float
) -> dict[int, list[tuple[int, float]]]:
    """The last `window_hours` of each series, averaged down to about FORECAST_POINTS."""
    window = int(window_hours * HOUR_MS)
    step = max(1, window // FORECAST_POINTS)
    found = await read_range(
        session,
        series_ids,
        now - window + 1,
        now + 1,
        step_ms=step,
        agg=Aggregation.avg,
        limit=(FORECAST_POINTS + 2) * max(1, len(series_ids)),
    )
    return {i: [(p.ts, p.value) for p in pts] for i, pts in found.items()}


async def forecast(
    session: AsyncSession,
    org_id: int,
    service: str,
    metric: str,
    labels: Mapping[str, str],
    threshold: float,
    direction: str,
    now: int,
    *,
    window_hours: float = 72.0,
    horizon_hours: float = 72.0,
) -> Forecast:
    """The metric's recent history, its forecast path with band, and the time to breach."""
    await _service(session, org_id, service)
    matches = await metric_series(session, org_id, metric, service, labels)
    if not matches:
        raise NotFound(f"service {service!r} has no series of {metric!r} with those labels")
    if len(matches) > 1:
        raise ValidationFailed(
            [{"field": "labels", "msg": f"{len(matches)} series match; add labels to pick one"}]
        )
    series_id, _, series_labels = matches[0]
    history = (await recent(session, [series_id], now, window_hours))[series_id]
    ts = [t for t, _ in history]
    values = [v for _, v in history]
    return Forecast(
        service=service,
        metric=metric,
        labels=series_labels,
        threshold=threshold,
        direction=direction,
        history=history,
        path=forecast_path(
            ts,
            values,
            horizon_hours=horizon_hours,
            window_hours=window_hours,
            bounds=metric_bounds(metric),
        ),
        breach=time_to_breach(
            ts,
            values,
            threshold,
            direction,
            horizon_hours=horizon_hours,
            window_hours=window_hours,
            bounds=metric_bounds(metric),
        ),
    )


async def limits(session: AsyncSession, org_id: int, metric: str) -> dict[str | None, Any]:
    """The limit of `metric` per service (None: every service) from the org's threshold
    rules, or the built-in default: {service: (threshold, direction, source)}."""
    found: dict[str | None, Any] = {}
    rules = await session.scalars(
        select(AlertRule)
        .where(AlertRule.org_id == org_id, AlertRule.enabled.is_(True))
        .order_by(AlertRule.id)
    )
    for rule in rules:
        spec = rule.spec
        if spec.get("kind") != "threshold" or spec.get("metric") != metric:
            continue
        op = spec.get("op", ">")
        if op not in (">", ">=", "<", "<="):
            continue
        direction = "above" if op in (">", ">=") else "below"
        found.setdefault(spec.get("service"), (float(spec["value"]), direction, "rule"))
    if None not in found and metric in DEFAULT_LIMITS:
        value, direction = DEFAULT_LIMITS[metric]
        found[None] = (value, direction, "default")
    return found
