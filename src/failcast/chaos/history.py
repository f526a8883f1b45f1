"""Weeks of fleet history in one vectorised pass, with the incidents that happened in it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

import numpy as np
import pandas as pd

from failcast.chaos.faults import (
    ORGANIC_RATE_PER_DAY,
    Fault,
    Incident,
    check_fault,
    incidents_for,
    organic_faults,
)
from failcast.chaos.fleet import FleetSpec, Topology, build_fleet
from failcast.chaos.hardness import (
    PLAIN,
    Hardness,
    as_recorded,
    drop_samples,
    harmless_ramps,
    maintenance_resets,
    precursors,
)
from failcast.chaos.kinds import DAY_S
from failcast.chaos.signals import SeriesMatrix, simulate

# 2024-01-01T00:00:00Z: a fixed default keeps a seed's history identical from run to run.
DEFAULT_START = 1_704_067_200


class History(NamedTuple):
    """Long-format samples `[ts, service, metric, value]`, ground-truth incidents, topology."""

    samples: pd.DataFrame
    incidents: list[Incident]
    topology: Topology


class HistoryMatrix(NamedTuple):
    """The same history before it is turned into a long table."""

    matrix: SeriesMatrix
    incidents: list[Incident]
    topology: Topology
    faults: list[Fault]


def _fleet(services: int | FleetSpec | None) -> FleetSpec:
    return services if isinstance(services, FleetSpec) else build_fleet(services)


def history_matrix(
    days: float,
    services: int | FleetSpec | None = None,
    step_s: int = 60,
    seed: int = 0,
    *,
    start: int | None = None,
    faults: Sequence[Fault] = (),
    organic_rate_per_day: float = ORGANIC_RATE_PER_DAY,
    hardness: Hardness = PLAIN,
) -> HistoryMatrix:
    """Metric matrix of `days` of history every `step_s` seconds, from `start` (Unix seconds),
    made as much harder than plain as `hardness` says (`chaos.hardness`)."""
    if days <= 0:
        raise ValueError("days must be positive")
    if step_s < 1 or int(step_s) != step_s:
        raise ValueError("step_s must be a whole number of seconds, at least 1")
    fleet = _fleet(services)
    first = DEFAULT_START if start is None else int(start)
    steps = int(days * DAY_S // step_s)
    if steps < 1:
        raise ValueError("the history must hold at least one step")
    ts = first + np.arange(steps, dtype=np.int64) * int(step_s)
    end = float(ts[-1] + step_s)
    chosen: list[Fault] = []
    for number, fault in enumerate(faults, start=1):
        check_fault(fault, fleet)
        chosen.append(fault if fault.id else replace(fault, id=f"fault-{number}"))
    chosen += organic_faults(fleet, float(first), end, seed, organic_rate_per_day)
    shapes = precursors(chosen, hardness, seed)
    shapes |= maintenance_resets(chosen, hardness, seed, shapes)
    harmless, harmless_shapes = harmless_ramps(fleet, float(first), end, seed, hardness)
    shapes |= harmless_shapes
    matrix = simulate(fleet, ts.astype(np.float64), [*chosen, *harmless], seed, shapes)
    matrix = drop_samples(matrix, hardness, seed)
    averted = {fid for fid, shape in shapes.items() if shape.benign}
    incidents = [
        incident
        for fault in chosen
        if fault.id not in averted
        for incident in incidents_for(fault, fleet)
        if incident.start < end and incident.end > first
    ]
    incidents.sort(key=lambda i: (i.start, i.service))
    incidents = as_recorded(incidents, hardness, seed)
    return HistoryMatrix(matrix, incidents, fleet.topology, chosen)


def long_frame(matrix: SeriesMatrix) -> pd.DataFrame:
    """The matrix as a long table: one row per (ts, service, metric) sample."""
    n_series, n_steps = matrix.values.shape
    services = sorted({s for s, _ in matrix.series})
    metrics = sorted({m for _, m in matrix.series})
    service_codes = np.array([services.index(s) for s, _ in matrix.series], dtype=np.int32)
    metric_codes = np.array([metrics.index(m) for _, m in matrix.series], dtype=np.int32)
    return pd.DataFrame(
        {
            "ts": np.tile(matrix.ts.astype(np.int64), n_series),
            "service": pd.Categorical.from_codes(np.repeat(service_codes, n_steps), services),
            "metric": pd.Categorical.from_codes(np.repeat(metric_codes, n_steps), metrics),
            "value": matrix.values.reshape(-1),
        }
    )


def generate_history(
    days: float,
    services: int | FleetSpec | None = None,
    step_s: int = 60,
    seed: int = 0,
    *,
    start: int | None = None,
    faults: Sequence[Fault] = (),
    organic_rate_per_day: float = ORGANIC_RATE_PER_DAY,
    hardness: Hardness = PLAIN,
) -> History:
    """`days` of samples for a fleet of `services`, with organic failures drawn from `seed`."""
    result = history_matrix(
        days,
        services,
        step_s,
        seed,
        start=start,
        faults=faults,
        organic_rate_per_day=organic_rate_per_day,
        hardness=hardness,
    )
    return History(long_frame(result.matrix), result.incidents, result.topology)
