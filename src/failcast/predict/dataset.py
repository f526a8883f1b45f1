"""Causal feature rows for failure prediction, aligned on one time grid for a whole fleet.

Each metric is read by what it does (level, trend, volatility and seasonality against its own
history, headroom to a limit, missing data, restarts, the detector's scores), grouped by the role
its name and unit suggest, and summarised per role and over all of a service's metrics; with
the health of the service's dependencies this gives rows of one fixed width whatever the
metrics are called."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from failcast.detect.anomaly import Surprise
from failcast.detect.roles import ROLES, MetricRole, metric_role
from failcast.features import rolling_max, rolling_mean
from failcast.features.behaviour import BEHAVIOUR, Windows, behaviour, counter_rate
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

STEP_MS = 300_000  # the grid of stored data: five minutes (imported history may use another)
POINTS_PER_HOUR = 12
WEEK = 7 * 24 * POINTS_PER_HOUR
# Grid points of history a live prediction needs for every window to be filled.
HISTORY_POINTS = WEEK
UNHEALTHY = 0.5  # detector score at the alarm level: a dependency counts as unhealthy
KINDS: tuple[str, ...] = ("microservice", "ml_model", "data_pipeline")

CALENDAR_COLUMNS: tuple[str, ...] = ("hour_sin", "hour_cos", "weekend")
KIND_COLUMNS: tuple[str, ...] = tuple(f"kind_{k}" for k in KINDS)
# What each metric contributes: its behaviour and the detector's two scores.
PER_METRIC: tuple[str, ...] = (*BEHAVIOUR, "anomaly", "change")
# Per role, the worst value among the service's metrics of that role; over all metrics,
# the worst and the mean. The width is fixed whatever the metrics are called.
ROLE_COLUMNS: tuple[str, ...] = tuple(f"{r}__{f}" for r in ROLES for f in PER_METRIC)
ANY_COLUMNS: tuple[str, ...] = tuple(
    f"any__{f}__{agg}" for f in PER_METRIC for agg in ("worst", "mean")
)
SERVICE_COLUMNS: tuple[str, ...] = (*KIND_COLUMNS, "metrics", "anomaly_max_6h")
TOPOLOGY_COLUMNS: tuple[str, ...] = (
    "deps_count",
    "deps_unhealthy",
    "deps_anomaly_max",
    "deps_anomaly_max_6h",
    "deps_failing_max",
    "deps_all_anomaly_max",
)
FEATURE_NAMES: tuple[str, ...] = (
    *CALENDAR_COLUMNS,
    *SERVICE_COLUMNS,
    *TOPOLOGY_COLUMNS,
    *ANY_COLUMNS,
    *ROLE_COLUMNS,
)
# Features where less is worse (hours left); the others are oriented so that more is worse.
LOWER_IS_WORSE = frozenset({"headroom_h"})
# Roles whose rise (oriented) means a dependency is failing its callers.
FAILING_ROLES: tuple[str, ...] = ("errors", "availability")

# service -> feature column -> the metrics behind it, each with its own values of that feature
Sources = dict[str, dict[str, list[tuple[str, FloatArray]]]]


@dataclass
class ServiceData:
    """One service's metrics on the fleet grid (NaN where a sample is missing), with the roles
    (and limits) its owner declared for some of them."""

    kind: str
    metrics: dict[str, FloatArray]
    dependencies: tuple[str, ...] = ()
    declared: dict[str, tuple[str | None, float | None]] = field(default_factory=dict)

    def role(self, metric: str) -> MetricRole:
        role, limit = self.declared.get(metric, (None, None))
        return metric_role(metric, role=role, limit=limit)


@dataclass
class FleetData:
    """Every service on one ascending grid of epoch-millisecond timestamps."""

    ts_ms: IntArray
    services: dict[str, ServiceData] = field(default_factory=dict)

    @property
    def step_ms(self) -> int:
        """The grid step (the five-minute default for fewer than two points)."""
        return int(self.ts_ms[1] - self.ts_ms[0]) if len(self.ts_ms) >= 2 else STEP_MS

    @property
    def windows(self) -> Windows:
        return Windows.for_step(self.step_ms)

    def head(self, n: int) -> FleetData:
        """The first `n` grid points of every series."""
        return FleetData(
            self.ts_ms[:n].copy(),
            {
                name: ServiceData(
                    s.kind,
                    {m: v[:n].copy() for m, v in s.metrics.items()},
                    s.dependencies,
                    dict(s.declared),
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


def prepared(
    ts_ms: IntArray, values: FloatArray, role: MetricRole
) -> tuple[FloatArray, FloatArray]:
    """The series a model reads (a counter becomes its per-second rate) and its restarts."""
    x = np.asarray(values, dtype=np.float64)
    if role.counter:
        return counter_rate(ts_ms, x)
    return x, np.zeros(len(x))


def metric_columns(
    ts_ms: IntArray, values: FloatArray, role: MetricRole, step_ms: int = STEP_MS
) -> dict[str, FloatArray]:
    """The `PER_METRIC` features of one metric; each uses only values up to its own row."""
    # A counter's limit (declared: names give none) is on its rate, e.g. CPU seconds per second.
    x, restarts = prepared(ts_ms, values, role)
    cols = behaviour(
        ts_ms, x, direction=role.direction, limit=role.limit, restarts=restarts,
        step_ms=step_ms,
    )  # fmt: skip
    # The default detector: its point (anomaly) and level (change) scores.
    assessed = Surprise().assess_many(x, ts_ms)
    hour = Windows.for_step(step_ms).hour
    cols["anomaly"] = rolling_max(assessed.score, hour, min_periods=1)
    change = assessed.change if assessed.change is not None else np.full(len(x), np.nan)
    cols["change"] = rolling_mean(np.asarray(change, dtype=np.float64), hour, 1)
    return cols


def _worst(columns: Sequence[FloatArray], feature: str, n: int) -> FloatArray:
    if not columns:
        return np.full(n, np.nan)
    stack = np.vstack(columns)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows stay NaN
        out: FloatArray = (
            np.nanmin(stack, axis=0) if feature in LOWER_IS_WORSE else np.nanmax(stack, axis=0)
        )
    return out


def _mean(columns: Sequence[FloatArray], n: int) -> FloatArray:
    if not columns:
        return np.full(n, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out: FloatArray = np.nanmean(np.vstack(columns), axis=0)
    return out


def service_columns(
    ts_ms: IntArray,
    service: ServiceData,
    sources: dict[str, list[tuple[str, FloatArray]]] | None,
    step_ms: int = STEP_MS,
) -> dict[str, FloatArray]:
    """A service's role and "any metric" summaries, its kind and its anomaly level."""
    n = len(ts_ms)
    by_role: dict[str, dict[str, list[tuple[str, FloatArray]]]] = {r: {} for r in ROLES}
    everything: dict[str, list[FloatArray]] = {f: [] for f in PER_METRIC}
    for metric in sorted(service.metrics):
        role = service.role(metric)
        own = metric_columns(ts_ms, service.metrics[metric], role, step_ms)
        for feature, values in own.items():
            by_role[role.role].setdefault(feature, []).append((metric, values))
            everything[feature].append(values)
    cols: dict[str, FloatArray] = {}
    for kind in KINDS:
        cols[f"kind_{kind}"] = np.full(n, 1.0 if service.kind == kind else 0.0)
    cols["metrics"] = np.full(n, float(len(service.metrics)))
    for group, features in by_role.items():
        for feature in PER_METRIC:
            found = features.get(feature, [])
            cols[f"{group}__{feature}"] = _worst([v for _, v in found], feature, n)
            if sources is not None and found:
                sources[f"{group}__{feature}"] = found
    for feature, columns in everything.items():
        cols[f"any__{feature}__worst"] = _worst(columns, feature, n)
        cols[f"any__{feature}__mean"] = _mean(columns, n)
        if sources is not None and columns:
            sources[f"any__{feature}__worst"] = [
                pair for group in by_role.values() for pair in group.get(feature, [])
            ]
    anomaly = np.nan_to_num(cols["any__anomaly__worst"])
    six = Windows.for_step(step_ms).six
    cols["anomaly_max_6h"] = rolling_max(anomaly, six, min_periods=1)
    return cols


def fleet_features(
    fleet: FleetData, *, sources: Sources | None = None
) -> tuple[list[str], dict[str, dict[str, FloatArray]]]:
    """Feature columns of every service: (`FEATURE_NAMES`, service -> columns). With `sources`,
    which metrics each role and "any" column summarises is recorded there per service."""
    ts = fleet.ts_ms
    n = len(ts)
    hour_sin, hour_cos = cyclic(hour_of_day(ts), 24)
    calendar = {"hour_sin": hour_sin, "hour_cos": hour_cos, "weekend": is_weekend(ts)}
    per_service: dict[str, dict[str, FloatArray]] = {}
    for name in sorted(fleet.services):
        mine = sources.setdefault(name, {}) if sources is not None else None
        cols = dict(calendar)
        cols.update(service_columns(ts, fleet.services[name], mine, fleet.step_ms))
        per_service[name] = cols
    anomaly = {name: np.nan_to_num(c["any__anomaly__worst"]) for name, c in per_service.items()}
    failing = {name: _failing(c, n) for name, c in per_service.items()}
    for name, cols in per_service.items():
        cols.update(_topology_columns(fleet, name, anomaly, failing, n))
    return list(FEATURE_NAMES), per_service


def drivers_at(sources: Mapping[str, list[tuple[str, FloatArray]]], row: int) -> dict[str, str]:
    """For each summary column, the metric whose value is the worst at `row` (the one the
    column shows)."""
    out: dict[str, str] = {}
    for column, found in sources.items():
        feature = column.split("__")[1]
        sign = -1.0 if feature in LOWER_IS_WORSE else 1.0
        best, name = -np.inf, None
        for metric, values in found:
            value = sign * values[row]
            if np.isfinite(value) and value > best:
                best, name = value, metric
        if name is not None:
            out[column] = name
    return out


def _failing(cols: Mapping[str, FloatArray], n: int) -> FloatArray:
    """How far a service's errors (or lack of availability) are above their weekly norm."""
    return _worst([cols[f"{role}__level"] for role in FAILING_ROLES], "level", n)


def _topology_columns(
    fleet: FleetData,
    name: str,
    anomaly: Mapping[str, FloatArray],
    failing: Mapping[str, FloatArray],
    n: int,
) -> dict[str, FloatArray]:
    direct = [d for d in fleet.services[name].dependencies if d in fleet.services]
    every = fleet.transitive_dependencies(name)
    zeros = np.zeros(n)
    cols: dict[str, FloatArray] = {"deps_count": np.full(n, float(len(direct)))}
    if direct:
        stack = np.vstack([anomaly[d] for d in direct])
        cols["deps_unhealthy"] = (stack >= UNHEALTHY).sum(axis=0).astype(np.float64)
        cols["deps_anomaly_max"] = stack.max(axis=0)
        cols["deps_anomaly_max_6h"] = rolling_max(
            cols["deps_anomaly_max"], fleet.windows.six, min_periods=1
        )
        cols["deps_failing_max"] = _worst([failing[d] for d in direct], "level", n)
    else:
        cols |= {
            "deps_unhealthy": zeros,
            "deps_anomaly_max": zeros,
            "deps_anomaly_max_6h": zeros,
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
    """Feature rows of many services, with their targets per horizon (hours). `grid` is each
    row's index on the grid of `fleet`, the history the rows were cut from, when known."""

    names: list[str]
    X: FloatArray
    ts_ms: IntArray
    services: list[str]
    labels: dict[int, BoolArray]
    next_type: list[str | None]
    incidents: dict[str, tuple[IntArray, list[str]]]
    grid: IntArray | None = None
    fleet: FleetData | None = None

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
            None if self.grid is None else self.grid[idx],
            self.fleet,
        )


def inside_incident(
    ts_ms: IntArray, services: Sequence[str], incidents: Sequence[IncidentLike]
) -> BoolArray:
    """True for rows whose service has an incident open at their time (start <= t < end)."""
    out = np.zeros(len(ts_ms), dtype=bool)
    names = np.asarray(services)
    for incident in incidents:
        start, end = round(incident.start * 1000), round(incident.end * 1000)
        if end > start:
            out |= (names == incident.service) & (ts_ms >= start) & (ts_ms < end)
    return out


def build_dataset(
    fleet: FleetData,
    incidents: Sequence[IncidentLike],
    horizons: Sequence[int],
    *,
    stride: int | None = None,
    warmup: int | None = None,
) -> Dataset:
    """Rows every `stride` grid points (default: hourly, or every point on a coarser grid)
    after `warmup` points (default: a day), for every service, time-ordered.

    Rows inside an open incident of their service are left out: what comes next is then
    recovery, not a failure to foresee, and the incident is already known.
    """
    names, columns = fleet_features(fleet)
    by_service = starts_by_service(incidents)
    stride = stride or fleet.windows.hour
    warmup = fleet.windows.day if warmup is None else warmup
    rows = np.arange(min(warmup, len(fleet.ts_ms)), len(fleet.ts_ms), stride)
    order = sorted(columns)
    X = (
        np.vstack([assemble(names, columns[s], rows) for s in order])
        if order
        else np.empty((0, len(names)))
    )
    grid = np.tile(rows, len(order)).astype(np.int64)
    ts = fleet.ts_ms[grid]
    services = [s for s in order for _ in range(len(rows))]
    # Sort by time (services in a fixed order within a time): splits then cut whole instants.
    perm = np.lexsort((np.repeat(np.arange(len(order)), len(rows)), ts))
    keep = perm[~inside_incident(ts[perm], [services[i] for i in perm.tolist()], incidents)]
    X, ts, grid = X[keep], ts[keep], grid[keep]
    services = [services[i] for i in keep.tolist()]
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
    return Dataset(names, X, ts, services, labels, next_type, by_service, grid, fleet)
