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

from failcast.chaos.faults import CASCADE_HOP_S, Fault, FaultKind
from failcast.chaos.fleet import FleetSpec, Kind
from failcast.chaos.kinds import (
    ACCURACY_DROP_AT_HIT,
    COST_OVERLOAD,
    DAY_S,
    Effects,
    FloatArray,
    Noise,
    ServiceState,
    microservice,
    model,
    pipeline,
)
from failcast.chaos.noise import smooth, stream_key

WEEK_DAYS = 7


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
    effects: dict[str, Effects],
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
    effects = {name: Effects(n) for name in fleet.names}
    if n:
        for fault in faults:
            if fault.end > t[0] and fault.start <= t[-1]:
                _apply(fault, fleet, t, effects, (shapes or {}).get(fault.id))

    nominal = nominal_latency(fleet)
    states: dict[str, ServiceState] = {}
    rows: list[FloatArray] = []
    for spec in fleet:
        noise = Noise(seed, spec.name, counters, t)
        fx = effects[spec.name]
        if spec.kind is Kind.microservice:
            # Pools are sized so that average load keeps `pool_use` of the connections busy.
            pool_size = spec.rps * nominal[spec.name] / 1000.0 / spec.pool_use
            values, state = microservice(spec, pool_size, load, noise, fx, states)
        elif spec.kind is Kind.ml_model:
            values, state = model(spec, t, load, noise, fx, states)
        else:
            values, state = pipeline(spec, t, load, noise, fx, states)
        states[spec.name] = state
        rows.extend(values[m] for m in spec.metrics)
    matrix = np.vstack(rows) if rows else np.zeros((0, n))
    return SeriesMatrix(ts=t, series=fleet.series, values=matrix)


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
