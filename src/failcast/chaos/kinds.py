"""How each kind of service turns load, noise and fault effects into its metrics: microservices
(traffic, CPU, latency through a queueing factor, errors), ML models (accuracy, drift, cost)
and data pipelines (runs, freshness, rows). `signals.simulate` calls them in dependency order."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from failcast.chaos.fleet import Kind, ServiceSpec
from failcast.chaos.noise import normal, smooth, stream_key, uniform

FloatArray = NDArray[np.float64]

DAY_S = 86400.0
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


class Effects:
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


class Noise:
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
class ServiceState:
    """What callers need to know about a service they depend on."""

    latency: FloatArray | float  # typical latency of a call, ms
    latency_tail: FloatArray | float
    failing: FloatArray | float  # share of calls that fail (or, for pipelines, runs)
    kind: Kind


def down_share(fx: Effects) -> FloatArray | float:
    return np.minimum(fx.get("down"), 1.0) if fx.has("down") else 0.0


def microservice(
    spec: ServiceSpec,
    pool_size: float,
    load: FloatArray,
    noise: Noise,
    fx: Effects,
    states: dict[str, ServiceState],
) -> tuple[dict[str, FloatArray], ServiceState]:
    down = down_share(fx)
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
    return values, ServiceState(latency=p50, latency_tail=p99, failing=errors, kind=spec.kind)


def model(
    spec: ServiceSpec,
    t: FloatArray,
    load: FloatArray,
    noise: Noise,
    fx: Effects,
    states: dict[str, ServiceState],
) -> tuple[dict[str, FloatArray], ServiceState]:
    down = down_share(fx)
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
    return values, ServiceState(latency=latency, latency_tail=tail, failing=down, kind=spec.kind)


def pipeline(
    spec: ServiceSpec,
    t: FloatArray,
    load: FloatArray,
    noise: Noise,
    fx: Effects,
    states: dict[str, ServiceState],
) -> tuple[dict[str, FloatArray], ServiceState]:
    down = down_share(fx)
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
    since_good = broken_for(t, broken)
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
    return values, ServiceState(excess_lag, excess_lag, failing=p_fail, kind=spec.kind)


def broken_for(t: FloatArray, broken: NDArray[np.bool_]) -> FloatArray:
    """Seconds each broken sample has been broken for (0 where healthy)."""
    if not t.size:
        return np.zeros(0)
    index = np.arange(t.size)
    last_good = np.maximum.accumulate(np.where(broken, -1, index))
    origin = np.where(last_good >= 0, t[np.maximum(last_good, 0)], t[0])
    result: FloatArray = np.where(broken, t - origin, 0.0)
    return result
