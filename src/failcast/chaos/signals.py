"""The fleet's metrics as whole arrays over a time grid, faults included.

`simulate` is the one place where metric values are made; history generation calls it once
for the whole period and the live engine calls it on a short trailing window. Everything is a
pure function of (fleet, seed, faults, time): noise comes from `chaos.noise`, precursors are
closed-form curves of the time since they began.

Model, in short: one fleet-wide load curve (daily and weekly cycles plus a slow wander) drives
every service's traffic; CPU follows load; latency follows CPU through a queueing factor
(`1 + rho^3 / (1 - rho)`) and memory pressure (garbage collection above 80 %); each caller
adds its dependencies' latency and failure share weighted by the edge's traffic share, so an
unhealthy dependency hurts exactly the services that depend on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from failcast.chaos.faults import CASCADE_HOP_S, Fault, FaultKind
from failcast.chaos.fleet import FleetSpec, Kind, ServiceSpec
from failcast.chaos.noise import normal, smooth, stream_key, uniform

FloatArray = NDArray[np.float64]

DAY_S = 86400.0
WEEK_DAYS = 7
# A failing dependency costs its callers a timeout on the calls that reach it.
TIMEOUT_MS = 500.0
# Latency a dead service shows to health checks.
DOWN_LATENCY_MS = 2000.0
# Where a model's true accuracy stands, below its healthy level, when a data-drift failure hits.
ACCURACY_DROP_AT_HIT = 0.10
BASE_FEATURE_DRIFT = 0.04
BASE_PREDICTION_DRIFT = 0.03
# Cost multiple at which a cost creep counts as an overload (the budget line).
COST_OVERLOAD = 1.5
RUNS_IN_SUCCESS_WINDOW = 24


@dataclass(frozen=True)
class SeriesMatrix:
    """Metric values: `values[i, j]` is series `series[i]` at time `ts[j]`."""

    ts: FloatArray
    series: list[tuple[str, str]]
    values: FloatArray

    def get(self, service: str, metric: str) -> FloatArray:
        row: FloatArray = self.values[self.series.index((service, metric))]
        return row

    def last(self) -> dict[tuple[str, str], float]:
        return {key: float(v) for key, v in zip(self.series, self.values[:, -1], strict=True)}


def fleet_load(t: FloatArray, seed: int) -> FloatArray:
    """Fleet-wide traffic multiple (about 1 on average): daily and weekly cycles and wander."""
    hour = np.mod(t, DAY_S) / 3600.0
    daily = 1.0 + 0.38 * np.cos(2 * np.pi * (hour - 15.0) / 24.0)
    daily += 0.08 * np.cos(4 * np.pi * (hour - 11.0) / 24.0)
    # 1970-01-01 was a Thursday, so weekday 0 is Monday after this shift.
    weekday = np.mod(np.floor(t / DAY_S) + 3, WEEK_DAYS)
    weekly = np.where(weekday >= 5, 0.72, 1.0)
    wander = 1.0 + 0.05 * smooth(stream_key(seed, "fleet", "load"), t, 3 * 3600.0)
    result: FloatArray = daily * weekly * wander
    return result


class _Effects:
    """Per-service offsets that faults add on top of healthy behaviour."""

    __slots__ = ("arrays", "n")

    def __init__(self, n: int) -> None:
        self.n = n
        self.arrays: dict[str, FloatArray] = {}

    def add(self, name: str, lo: int, hi: int, value: FloatArray | float) -> None:
        if hi <= lo:
            return
        array = self.arrays.get(name)
        if array is None:
            array = self.arrays[name] = np.zeros(self.n)
        array[lo:hi] += value

    def get(self, name: str) -> FloatArray | float:
        return self.arrays.get(name, 0.0)

    def has(self, name: str) -> bool:
        return name in self.arrays


def _span(ts: FloatArray, start: float, end: float) -> tuple[int, int]:
    lo, hi = np.searchsorted(ts, (start, end), side="left")
    return int(lo), int(hi)


class PrecursorShape(Protocol):
    """How a precursor unfolds over its lead (`chaos.hardness.Precursor`)."""

    @property
    def benign(self) -> bool: ...

    def progress(self, fraction: FloatArray) -> FloatArray: ...


def _apply(
    fault: Fault,
    fleet: FleetSpec,
    ts: FloatArray,
    effects: dict[str, _Effects],
    shape: PrecursorShape | None = None,
) -> None:
    """Add one fault's effects: precursor curve over [start, hit), failure over [hit, end).
    With a `shape` the precursor follows it; a benign one never reaches the failure."""
    spec = fleet[fault.target]
    fx = effects[fault.target]
    k, x = fault.kind, fault.intensity
    p_lo, p_hi = _span(ts, fault.start, fault.hit)
    f_lo, f_hi = _span(ts, fault.hit, fault.end)
    progress = (ts[p_lo:p_hi] - fault.start) / fault.lead_s if fault.lead_s > 0 else ts[:0]
    if shape is not None:
        progress = shape.progress(progress)
        if shape.benign:
            f_hi = f_lo

    if k is FaultKind.cpu_spike:
        fx.add("cpu", f_lo, f_hi, 30.0 * x)
    elif k is FaultKind.memory_leak:
        # Leaks fill memory over the first tenth of the fault (at most a minute), then hold.
        ramp_s = min(60.0, fault.duration_s / 10)
        fx.add("memory", f_lo, f_hi, 40.0 * x * np.clip((ts[f_lo:f_hi] - fault.hit) / ramp_s, 0, 1))
    elif k is FaultKind.network_latency:
        fx.add("latency", f_lo, f_hi, 1000.0 * x)
    elif k is FaultKind.service_kill:
        fx.add("down", f_lo, f_hi, 1.0)
    elif k is FaultKind.cascade:
        fx.add("down", f_lo, f_hi, 1.0)
        for name, hops in fleet.topology.upstream(fault.target).items():
            c_lo, c_hi = _span(ts, fault.hit + hops * CASCADE_HOP_S, fault.end)
            caller = effects[name]
            kind = fleet[name].kind
            if kind is Kind.microservice:
                # Requests blocked on the broken dependency hold their connections and retry.
                caller.add("saturation", c_lo, c_hi, 1.0)
                caller.add("errors", c_lo, c_hi, 0.15 * x)
                caller.add("cpu", c_lo, c_hi, 10.0 * x)
            elif kind is Kind.data_pipeline:
                caller.add("fail", c_lo, c_hi, 1.0)
            else:
                caller.add("latency", c_lo, c_hi, 300.0 * x)
    elif k is FaultKind.memory_leak_oom:
        headroom = 101.0 - spec.memory_base
        fx.add("memory", p_lo, p_hi, headroom * progress**1.3)
        fx.add("down", f_lo, f_hi, 1.0)
    elif k is FaultKind.disk_fill:
        headroom = 101.0 - (spec.disk_base or 0.0)
        fx.add("disk", p_lo, p_hi, headroom * progress**1.1)
        fx.add("disk", f_lo, f_hi, headroom)
        fx.add("errors", f_lo, f_hi, 0.6 * x)
        fx.add("latency", f_lo, f_hi, 150.0 * x)
    elif k is FaultKind.data_drift:
        fx.add("drift", p_lo, p_hi, 0.30 * x * progress)
        fx.add("accuracy", p_lo, p_hi, ACCURACY_DROP_AT_HIT * progress**2)
        after = np.clip((ts[f_lo:f_hi] - fault.hit) / fault.duration_s, 0, 1)
        fx.add("drift", f_lo, f_hi, 0.30 * x + 0.05 * after)
        fx.add("accuracy", f_lo, f_hi, ACCURACY_DROP_AT_HIT + 0.05 * after)
    elif k is FaultKind.cost_creep:
        fx.add("cost", p_lo, p_hi, (COST_OVERLOAD - 1.0) * progress**1.2)
        fx.add("cost", f_lo, f_hi, (COST_OVERLOAD - 1.0) + 0.1 * x)
    elif k is FaultKind.pipeline_degradation:
        fx.add("fail", p_lo, p_hi, 0.45 * progress**2)
        fx.add("rows", p_lo, p_hi, -0.3 * progress)
        fx.add("schema", p_lo, p_hi, 4.0 * progress)
        fx.add("processing", p_lo, p_hi, 25.0 * progress)
        fx.add("fail", f_lo, f_hi, 1.0)
        fx.add("schema", f_lo, f_hi, 6.0)
    elif k is FaultKind.connection_pool_exhaustion:
        # Leaked connections are never returned: the pool's floor rises until nothing is free.
        fx.add("saturation", p_lo, p_hi, 0.95 * progress**1.5)
        fx.add("saturation", f_lo, f_hi, 1.0)
        fx.add("errors", f_lo, f_hi, 0.5 * x)
        fx.add("latency", f_lo, f_hi, 800.0 * x)


class _Noise:
    """The noise streams of one service over the grid."""

    def __init__(self, seed: int, service: str, counters: NDArray[np.int64], t: FloatArray):
        self.seed, self.service, self.counters, self.t = seed, service, counters, t

    def white(self, channel: str) -> FloatArray:
        return normal(stream_key(self.seed, self.service, channel), self.counters)

    def uniform(self, channel: str) -> FloatArray:
        return uniform(stream_key(self.seed, self.service, channel), self.counters)

    def slow(self, channel: str, period_s: float = 1800.0) -> FloatArray:
        return smooth(stream_key(self.seed, self.service, channel), self.t, period_s)


@dataclass
class _State:
    """What callers need to know about a service they depend on."""

    latency: FloatArray | float  # typical latency of a call, ms
    latency_tail: FloatArray | float
    failing: FloatArray | float  # share of calls that fail (or, for pipelines, runs)
    kind: Kind


def simulate(
    fleet: FleetSpec,
    ts: FloatArray,
    faults: list[Fault] | tuple[Fault, ...],
    seed: int,
    shapes: Mapping[str, PrecursorShape] | None = None,
) -> SeriesMatrix:
    """Every metric of every service at the times `ts` (ascending seconds); `shapes` gives
    some faults (by id) a precursor of their own shape."""
    t = np.ascontiguousarray(ts, dtype=np.float64)
    if t.ndim != 1 or (t.size > 1 and np.any(np.diff(t) < 0)):
        raise ValueError("ts must be a one-dimensional ascending array")
    n = t.size
    counters = np.floor(t).astype(np.int64)
    load = fleet_load(t, seed)
    effects = {name: _Effects(n) for name in fleet.names}
    if n:
        for fault in faults:
            if fault.end > t[0] and fault.start <= t[-1]:
                _apply(fault, fleet, t, effects, (shapes or {}).get(fault.id))

    nominal = nominal_latency(fleet)
    states: dict[str, _State] = {}
    rows: list[FloatArray] = []
    for spec in fleet:
        noise = _Noise(seed, spec.name, counters, t)
        fx = effects[spec.name]
        if spec.kind is Kind.microservice:
            # Pools are sized so that average load keeps `pool_use` of the connections busy.
            pool_size = spec.rps * nominal[spec.name] / 1000.0 / spec.pool_use
            values, state = _microservice(spec, pool_size, load, noise, fx, states)
        elif spec.kind is Kind.ml_model:
            values, state = _model(spec, t, load, noise, fx, states)
        else:
            values, state = _pipeline(spec, t, load, noise, fx, states)
        states[spec.name] = state
        rows.extend(values[m] for m in spec.metrics)
    matrix = np.vstack(rows) if rows else np.zeros((0, n))
    return SeriesMatrix(ts=t, series=fleet.series, values=matrix)


def _down(fx: _Effects) -> FloatArray | float:
    return np.minimum(fx.get("down"), 1.0) if fx.has("down") else 0.0


def nominal_latency(fleet: FleetSpec) -> dict[str, float]:
    """Each service's typical p50 latency (ms) at average load with healthy dependencies."""
    result: dict[str, float] = {}
    for spec in fleet:
        if spec.kind is Kind.data_pipeline:
            result[spec.name] = 0.0
            continue
        rho = min((spec.cpu_base + spec.cpu_per_load) / 100.0, 0.97)
        own = spec.latency_ms * (1.0 + rho**3 / (1.0 - rho))
        if spec.kind is Kind.ml_model:
            own = spec.latency_ms
        result[spec.name] = own + sum(dep.weight * result[dep.name] for dep in spec.dependencies)
    return result


def _microservice(
    spec: ServiceSpec,
    pool_size: float,
    load: FloatArray,
    noise: _Noise,
    fx: _Effects,
    states: dict[str, _State],
) -> tuple[dict[str, FloatArray], _State]:
    down = _down(fx)
    up = 1.0 - down
    traffic = load * (1.0 + 0.03 * noise.white("traffic"))
    rps = spec.rps * traffic * up
    cpu_raw = (
        spec.cpu_base
        + spec.cpu_per_load * traffic
        + 1.5 * noise.white("cpu")
        + 2.0 * noise.slow("cpu")
        + fx.get("cpu")
    )
    cpu = np.clip(cpu_raw, 0.0, 100.0)
    memory = np.clip(
        spec.memory_base
        + 2.0 * (traffic - 1.0)
        + 0.4 * noise.white("memory")
        + 1.5 * noise.slow("memory", 6 * 3600.0)
        + fx.get("memory"),
        0.0,
        100.0,
    )
    rho = np.minimum(cpu / 100.0, 0.97)
    queueing = 1.0 + rho**3 / (1.0 - rho)
    gc = 1.0 + 3.0 * np.clip((memory - 80.0) / 20.0, 0.0, 1.0) ** 2
    own = spec.latency_ms * queueing * (1.0 + 0.05 * (traffic - 1.0))
    p50 = own * (1.0 + 0.04 * noise.white("p50")) * np.sqrt(gc)
    p99 = own * spec.tail * gc * (1.0 + 0.5 * rho**2) * (1.0 + 0.08 * noise.white("p99"))
    errors_own = spec.error_rate * (1.0 + 4.0 * rho**4) * np.exp(0.3 * noise.white("errors"))
    errors_own = np.clip(errors_own + fx.get("errors"), 0.0, 1.0)
    served: FloatArray | float = 1.0
    for dep in spec.dependencies:
        other = states[dep.name]
        failing = other.failing
        if other.kind is not Kind.data_pipeline:
            p50 = p50 + dep.weight * (other.latency * (1.0 - failing) + TIMEOUT_MS * failing)
            p99 = p99 + dep.weight * (other.latency_tail * (1.0 - failing) + TIMEOUT_MS * failing)
        served = served * (1.0 - dep.weight * failing)
    p50 = p50 + fx.get("latency")
    p99 = np.maximum(p99 + fx.get("latency"), p50)
    errors = 1.0 - (1.0 - errors_own) * served
    errors = errors * up + down
    p50 = p50 * up + DOWN_LATENCY_MS * down
    p99 = p99 * up + DOWN_LATENCY_MS * down
    in_flight = rps * p50 / 1000.0
    saturation = np.clip(in_flight / pool_size + fx.get("saturation"), 0.0, 1.0)
    cost_multiple = 1.0 + fx.get("cost")
    cost = (
        spec.cost_per_hour
        * (0.75 + 0.25 * traffic)
        * cost_multiple
        * (1.0 + 0.01 * noise.white("cost"))
    )
    values = {
        "cpu_pct": cpu * up,
        "memory_pct": memory * up,
        "latency_p50_ms": p50,
        "latency_p99_ms": p99,
        "error_rate": errors,
        "throughput_rps": rps,
        "availability": 1.0 - errors,
        "saturation": saturation,
        "cost_usd_per_hour": cost,
    }
    if spec.disk_base is not None:
        # Logs and write-ahead files grow through the day and are rotated at midnight.
        day_fraction = np.mod(noise.t, DAY_S) / DAY_S
        values["disk_pct"] = np.clip(
            spec.disk_base
            + 3.0 * day_fraction
            + 0.15 * noise.white("disk")
            + 0.5 * noise.slow("disk", 12 * 3600.0)
            + fx.get("disk"),
            0.0,
            100.0,
        )
    return values, _State(latency=p50, latency_tail=p99, failing=errors, kind=spec.kind)


def _model(
    spec: ServiceSpec,
    t: FloatArray,
    load: FloatArray,
    noise: _Noise,
    fx: _Effects,
    states: dict[str, _State],
) -> tuple[dict[str, FloatArray], _State]:
    down = _down(fx)
    up = 1.0 - down
    traffic = load * (1.0 + 0.04 * noise.white("traffic"))
    rps = spec.rps * traffic * up
    latency = spec.latency_ms * (1.0 + 0.25 * (traffic - 1.0)) * (1.0 + 0.06 * noise.white("lat"))
    latency = (latency + fx.get("latency")) * up + DOWN_LATENCY_MS * down
    # Stale or failed feature inputs shift the feature distribution the model sees.
    stale: FloatArray | float = 0.0
    for dep in spec.dependencies:
        stale = stale + dep.weight * states[dep.name].failing
    feature_drift = (
        BASE_FEATURE_DRIFT
        + 0.008 * noise.slow("drift", 4 * 3600.0)
        + 0.004 * np.abs(noise.white("drift"))
        + fx.get("drift")
        + 0.25 * np.minimum(stale, 1.0)
    )
    feature_drift = np.maximum(feature_drift, 0.0)
    prediction_drift = np.maximum(
        BASE_PREDICTION_DRIFT
        + 0.6 * (feature_drift - BASE_FEATURE_DRIFT)
        + 0.005 * noise.slow("prediction", 4 * 3600.0)
        + 0.003 * noise.white("prediction"),
        0.0,
    )
    true_accuracy = np.clip(
        spec.accuracy
        - 0.004 * noise.slow("accuracy", 6 * 3600.0)
        - fx.get("accuracy")
        - 0.1 * np.minimum(stale, 1.0),
        0.0,
        1.0,
    )
    # Labels arrive `label_delay_s` late, so the accuracy known at t is the accuracy at t - delay.
    accuracy = np.interp(t - spec.label_delay_s, t, true_accuracy)
    accuracy = np.clip(accuracy + 0.002 * noise.white("accuracy"), 0.0, 1.0)
    served = np.maximum(rps, 0.05 * spec.rps)
    cost = spec.cost_per_hour / (served * 3.6) + spec.cost_per_1k * (1.0 + fx.get("cost"))
    values = {
        "accuracy": accuracy,
        "prediction_drift": prediction_drift,
        "feature_drift": feature_drift,
        "latency_ms": latency,
        "cost_per_1k_predictions": cost,
        "traffic_rps": rps,
    }
    tail = latency * 3.0
    return values, _State(latency=latency, latency_tail=tail, failing=down, kind=spec.kind)


def _pipeline(
    spec: ServiceSpec,
    t: FloatArray,
    load: FloatArray,
    noise: _Noise,
    fx: _Effects,
    states: dict[str, _State],
) -> tuple[dict[str, FloatArray], _State]:
    down = _down(fx)
    upstream: FloatArray | float = 0.0
    upstream_lag: FloatArray | float = 0.0
    for dep in spec.dependencies:
        other = states[dep.name]
        upstream = upstream + 0.9 * dep.weight * other.failing
        if other.kind is Kind.data_pipeline and isinstance(other.latency, np.ndarray):
            upstream_lag = upstream_lag + other.latency
    p_fail = np.clip(0.01 + fx.get("fail") + upstream + down + np.zeros(t.size), 0.0, 1.0)
    spread = np.sqrt(p_fail * (1.0 - p_fail) / RUNS_IN_SUCCESS_WINDOW)
    rate = 1.0 - p_fail + spread * noise.white("runs")
    success = np.clip(np.round(rate * RUNS_IN_SUCCESS_WINDOW) / RUNS_IN_SUCCESS_WINDOW, 0.0, 1.0)
    broken = p_fail >= 0.5
    since_good = _broken_for(t, broken)
    freshness = (
        np.mod(t, spec.interval_s) / 60.0
        + spec.processing_min * (1.0 + 0.1 * noise.white("processing"))
        + fx.get("processing")
        + since_good / 60.0
        + upstream_lag
    )
    rows = spec.rows * load * (1.0 + fx.get("rows")) * (1.0 + 0.05 * noise.white("rows"))
    rows = np.maximum(np.round(rows * ~broken), 0.0)
    mean_errors = 0.3 + fx.get("schema")
    schema = np.floor(-np.log1p(-noise.uniform("schema")) * mean_errors)
    values = {
        "run_success_rate": success,
        "rows_processed": rows,
        "freshness_lag_min": freshness,
        "schema_errors": schema,
    }
    # Downstream pipelines inherit the part of this pipeline's lag beyond its normal cycle.
    excess_lag = np.maximum(freshness - spec.interval_s / 60.0 - spec.processing_min * 1.5, 0.0)
    return values, _State(excess_lag, excess_lag, failing=p_fail, kind=spec.kind)


def _broken_for(t: FloatArray, broken: NDArray[np.bool_]) -> FloatArray:
    """Seconds each broken sample has been broken for (0 where healthy)."""
    if not t.size:
        return np.zeros(0)
    index = np.arange(t.size)
    last_good = np.maximum.accumulate(np.where(broken, -1, index))
    origin = np.where(last_good >= 0, t[np.maximum(last_good, 0)], t[0])
    result: FloatArray = np.where(broken, t - origin, 0.0)
    return result
