"""Causal feature rows for failure prediction: per-metric windows and trends, detector scores and
the health of each service's dependencies, aligned on one time grid for a whole fleet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import minimum_filter1d

from failcast.detect import create
from failcast.features import (
    ewma,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_slope,
    rolling_std,
    seasonal_zscore,
)
from failcast.features.temporal import cyclic, hour_of_day, is_weekend
from failcast.predict.labels import (
    BoolArray,
    FloatArray,
    IncidentLike,
    IntArray,
    labels_for_rows,
    next_incident_type,
    starts_by_service,
)

STEP_MS = 300_000  # the grid: five minutes
POINTS_PER_HOUR = 12
# Trailing windows in grid points: one hour, six hours, a day; three days and a week for trends.
WINDOWS: tuple[int, ...] = (12, 72, 288)
TREND_WINDOW = 864
WEEK = 2016
BASELINE_WINDOW = 2 * WEEK  # the quietest day of the last two weeks is a metric's baseline
# Grid points of history a live prediction needs for every window to be filled.
HISTORY_POINTS = WEEK
UNHEALTHY = 0.5  # detector score (|z| about 4.4) from which a dependency counts as unhealthy
KINDS: tuple[str, ...] = ("microservice", "ml_model", "data_pipeline")

# Metrics whose rise means a dependency is failing its callers (share of failed calls or runs).
FAILING_METRICS: dict[str, tuple[str, float]] = {
    "error_rate": ("error_rate", 1.0),
    "run_success_rate": ("run_success_rate", -1.0),
}

CALENDAR_COLUMNS: tuple[str, ...] = ("hour_sin", "hour_cos", "weekend")
SERVICE_COLUMNS: tuple[str, ...] = (
    *(f"kind_{k}" for k in KINDS),
    "detector_max",
    "detector_max_72",
    "drift_max",
    "trend_max",
    "seasonal_max",
    "limit_hours_min",
)
# Metrics with a hard ceiling: a service fails when one reaches it.
LIMITS: dict[str, float] = {
    "cpu_pct": 100.0,
    "memory_pct": 100.0,
    "disk_pct": 100.0,
    "saturation": 1.0,
}
LIMIT_HORIZON_H = 240.0  # hours to a limit beyond this read as "not on course"
TOPOLOGY_COLUMNS: tuple[str, ...] = (
    "deps_count",
    "deps_unhealthy",
    "deps_anomaly_max",
    "deps_anomaly_max_72",
    "deps_failing_max",
    "deps_all_anomaly_max",
)


@dataclass
class ServiceData:
    """One service's metrics on the fleet grid (NaN where a sample is missing)."""

    kind: str
    metrics: dict[str, FloatArray]
    dependencies: tuple[str, ...] = ()


@dataclass
class FleetData:
    """Every service on one ascending grid of epoch-millisecond timestamps."""

    ts_ms: IntArray
    services: dict[str, ServiceData] = field(default_factory=dict)

    def head(self, n: int) -> FleetData:
        """The first `n` grid points of every series."""
        return FleetData(
            self.ts_ms[:n].copy(),
            {
                name: ServiceData(
                    s.kind, {m: v[:n].copy() for m, v in s.metrics.items()}, s.dependencies
                )
                for name, s in self.services.items()
            },
        )

    def transitive_dependencies(self, service: str) -> list[str]:
        """Every service `service` depends on, directly or not, nearest first."""
        seen: list[str] = []
        frontier = list(self.services[service].dependencies)
        while frontier:
            name = frontier.pop(0)
            if name in seen or name == service or name not in self.services:
                continue
            seen.append(name)
            frontier.extend(self.services[name].dependencies)
        return seen


def metric_columns(ts_ms: IntArray, name: str, values: FloatArray) -> dict[str, FloatArray]:
    """Per-metric features; each uses only values up to its own row."""
    x = np.asarray(values, dtype=np.float64)
    cols: dict[str, FloatArray] = {
        name: x,
        f"{name}__ewma": ewma(x, 0.1),
        f"{name}__seasonal_z": seasonal_zscore(ts_ms, x, season="hour_of_day"),
    }
    for w in WINDOWS:
        cols[f"{name}__mean_{w}"] = rolling_mean(x, w)
        cols[f"{name}__std_{w}"] = rolling_std(x, w)
        cols[f"{name}__slope_{w}"] = rolling_slope(x, w)
    cols[f"{name}__max_72"] = rolling_max(x, 72)
    cols[f"{name}__max_288"] = rolling_max(x, 288)
    cols[f"{name}__min_288"] = rolling_min(x, 288)
    cols[f"{name}__slope_{TREND_WINDOW}"] = rolling_slope(x, TREND_WINDOW)
    week_mean = rolling_mean(x, WEEK, min_periods=POINTS_PER_HOUR * 24)
    week_std = rolling_std(x, WEEK, min_periods=POINTS_PER_HOUR * 24)
    scale = np.maximum(week_std, 1e-6 + 0.001 * np.abs(week_mean))
    with np.errstate(invalid="ignore", divide="ignore"):
        # How far the last hour sits from the week's normal, in the week's own spread.
        cols[f"{name}__dev_week"] = (cols[f"{name}__mean_12"] - week_mean) / scale
        # A day's trend as a share of the weekly level: scale-free across services.
        cols[f"{name}__trend_day"] = cols[f"{name}__slope_288"] * 288 / (np.abs(week_mean) + 1e-6)
    # Slow failures (cost creep, model drift) move a metric away from its quiet level for days;
    # a week's mean follows them, the quietest day of two weeks does not.
    base = trailing_min(cols[f"{name}__mean_288"], BASELINE_WINDOW)
    with np.errstate(invalid="ignore", divide="ignore"):
        cols[f"{name}__over_base"] = cols[f"{name}__mean_12"] - base
        cols[f"{name}__ratio_base"] = np.where(
            base > 0, cols[f"{name}__mean_288"] / np.where(base > 0, base, 1.0), np.nan
        )
    if name in LIMITS:
        cols[f"{name}__limit_hours"] = hours_to_limit(
            cols[f"{name}__mean_12"], cols[f"{name}__slope_72"], LIMITS[name]
        )
    return cols


def trailing_min(values: FloatArray, window: int) -> FloatArray:
    """Minimum of the last `window` values (fewer at the start); NaN where none was valid."""
    x = np.where(np.isnan(values), np.inf, values)
    if len(x) == 0:
        return np.asarray(values, dtype=np.float64)
    # A right-shifted origin turns the centred filter into a trailing one.
    out = minimum_filter1d(x, size=window, mode="nearest", origin=(window - 1) // 2)
    return np.where(np.isinf(out), np.nan, out)


def hours_to_limit(level: FloatArray, slope_per_point: FloatArray, limit: float) -> FloatArray:
    """Hours until a linear trend reaches `limit`, capped at `LIMIT_HORIZON_H`."""
    per_hour = slope_per_point * POINTS_PER_HOUR
    with np.errstate(invalid="ignore", divide="ignore"):
        hours = np.where(per_hour > 0, (limit - level) / per_hour, LIMIT_HORIZON_H)
    hours = np.clip(hours, 0.0, LIMIT_HORIZON_H)
    out: FloatArray = np.where(np.isnan(level) | np.isnan(slope_per_point), np.nan, hours)
    return out


def _column_max(columns: list[FloatArray], n: int, fill: float = 0.0) -> FloatArray:
    if not columns:
        return np.full(n, fill)
    stack = np.vstack(columns)
    out: FloatArray = np.where(np.isnan(stack), -np.inf, stack).max(axis=0)
    return np.where(np.isinf(out), fill, out)


def detector_scores(ts_ms: IntArray, values: FloatArray) -> FloatArray:
    """Streaming anomaly scores of the default detector ensemble (seasonal, Holt-Winters, CUSUM)."""
    return create("ensemble").score(values, ts_ms)


def _failing_share(service: ServiceData) -> FloatArray | None:
    for metric, (_, sign) in FAILING_METRICS.items():
        if metric in service.metrics:
            x = service.metrics[metric]
            return x if sign > 0 else 1.0 - x
    return None


def fleet_features(
    fleet: FleetData, *, detectors: bool = True
) -> tuple[list[str], dict[str, dict[str, FloatArray]]]:
    """Feature columns of every service: (column names in a stable order, service -> columns)."""
    ts = fleet.ts_ms
    n = len(ts)
    hour_sin, hour_cos = cyclic(hour_of_day(ts), 24)
    calendar = {"hour_sin": hour_sin, "hour_cos": hour_cos, "weekend": is_weekend(ts)}
    per_service: dict[str, dict[str, FloatArray]] = {}
    anomaly: dict[str, FloatArray] = {}
    for name in sorted(fleet.services):
        service = fleet.services[name]
        cols: dict[str, FloatArray] = dict(calendar)
        for kind in KINDS:
            cols[f"kind_{kind}"] = np.full(n, 1.0 if service.kind == kind else 0.0)
        scores = []
        for metric in sorted(service.metrics):
            values = np.asarray(service.metrics[metric], dtype=np.float64)
            cols.update(metric_columns(ts, metric, values))
            if detectors:
                score = detector_scores(ts, values)
                cols[f"{metric}__detector"] = rolling_mean(score, POINTS_PER_HOUR, min_periods=1)
                scores.append(rolling_max(score, POINTS_PER_HOUR, min_periods=1))
        level = np.max(np.vstack(scores), axis=0) if scores else np.zeros(n)
        anomaly[name] = level
        cols["detector_max"] = level
        cols["detector_max_72"] = rolling_max(level, 72, min_periods=1)
        # Metric-agnostic summaries, so what one failure kind teaches carries over to others.
        metrics = sorted(service.metrics)
        cols["drift_max"] = _column_max([np.abs(cols[f"{m}__dev_week"]) for m in metrics], n)
        cols["trend_max"] = _column_max([np.abs(cols[f"{m}__trend_day"]) for m in metrics], n)
        cols["seasonal_max"] = _column_max([np.abs(cols[f"{m}__seasonal_z"]) for m in metrics], n)
        limits = [-cols[f"{m}__limit_hours"] for m in metrics if m in LIMITS]
        cols["limit_hours_min"] = -_column_max(limits, n, fill=-LIMIT_HORIZON_H)
        per_service[name] = cols
    for name, cols in per_service.items():
        cols.update(_topology_columns(fleet, name, anomaly, n))
    metric_names = sorted(
        {c for cols in per_service.values() for c in cols}
        - set(CALENDAR_COLUMNS)
        - set(SERVICE_COLUMNS)
        - set(TOPOLOGY_COLUMNS)
    )
    names = [*CALENDAR_COLUMNS, *SERVICE_COLUMNS, *TOPOLOGY_COLUMNS, *metric_names]
    return names, per_service


def _topology_columns(
    fleet: FleetData, name: str, anomaly: Mapping[str, FloatArray], n: int
) -> dict[str, FloatArray]:
    direct = [d for d in fleet.services[name].dependencies if d in fleet.services]
    every = fleet.transitive_dependencies(name)
    zeros = np.zeros(n)
    cols: dict[str, FloatArray] = {"deps_count": np.full(n, float(len(direct)))}
    if direct:
        stack = np.vstack([anomaly[d] for d in direct])
        cols["deps_unhealthy"] = (stack >= UNHEALTHY).sum(axis=0).astype(np.float64)
        cols["deps_anomaly_max"] = stack.max(axis=0)
        cols["deps_anomaly_max_72"] = rolling_max(cols["deps_anomaly_max"], 72, min_periods=1)
        failing = [f for d in direct if (f := _failing_share(fleet.services[d])) is not None]
        cols["deps_failing_max"] = (
            np.nanmax(np.vstack(failing), axis=0) if failing else np.full(n, np.nan)
        )
    else:
        cols |= {
            "deps_unhealthy": zeros,
            "deps_anomaly_max": zeros,
            "deps_anomaly_max_72": zeros,
            "deps_failing_max": np.full(n, np.nan),
        }
    cols["deps_all_anomaly_max"] = (
        np.vstack([anomaly[d] for d in every]).max(axis=0) if every else zeros
    )
    return cols


def assemble(names: Sequence[str], cols: Mapping[str, FloatArray], rows: IntArray) -> FloatArray:
    """The given rows of the columns in the order of `names`, NaN for those this service lacks."""
    out = np.full((len(rows), len(names)), np.nan)
    for j, name in enumerate(names):
        col = cols.get(name)
        if col is not None:
            out[:, j] = col[rows]
    return out


@dataclass
class Dataset:
    """Feature rows of many services, with their targets per horizon (hours)."""

    names: list[str]
    X: FloatArray
    ts_ms: IntArray
    services: list[str]
    labels: dict[int, BoolArray]
    next_type: list[str | None]
    incidents: dict[str, tuple[IntArray, list[str]]]

    def __len__(self) -> int:
        return len(self.ts_ms)

    def subset(self, rows: IntArray | BoolArray) -> Dataset:
        idx = np.flatnonzero(rows) if rows.dtype == np.bool_ else rows
        return Dataset(
            self.names,
            self.X[idx],
            self.ts_ms[idx],
            [self.services[i] for i in idx.tolist()],
            {h: y[idx] for h, y in self.labels.items()},
            [self.next_type[i] for i in idx.tolist()],
            self.incidents,
        )


def build_dataset(
    fleet: FleetData,
    incidents: Sequence[IncidentLike],
    horizons: Sequence[int],
    *,
    stride: int = POINTS_PER_HOUR,
    warmup: int = 288,
    detectors: bool = True,
) -> Dataset:
    """Rows every `stride` grid points after `warmup`, for every service, time-ordered."""
    names, columns = fleet_features(fleet, detectors=detectors)
    by_service = starts_by_service(incidents)
    rows = np.arange(min(warmup, len(fleet.ts_ms)), len(fleet.ts_ms), stride)
    order = sorted(columns)
    X = (
        np.vstack([assemble(names, columns[s], rows) for s in order])
        if order
        else np.empty((0, len(names)))
    )
    ts = np.tile(fleet.ts_ms[rows], len(order))
    services = [s for s in order for _ in range(len(rows))]
    # Sort by time (services in a fixed order within a time): splits then cut whole instants.
    perm = np.lexsort((np.repeat(np.arange(len(order)), len(rows)), ts))
    X, ts = X[perm], ts[perm]
    services = [services[i] for i in perm.tolist()]
    labels = {h: labels_for_rows(ts, services, by_service, h) for h in horizons}
    longest = max(horizons) if horizons else 0
    next_type: list[str | None] = [None] * len(ts)
    names_arr = np.asarray(services)
    for service, (starts, types) in by_service.items():
        idx = np.flatnonzero(names_arr == service)
        for i, kind in zip(
            idx.tolist(), next_incident_type(ts[idx], starts, types, longest), strict=True
        ):
            next_type[i] = kind
    return Dataset(names, X, ts, services, labels, next_type, by_service)
