"""The simulated fleet as prediction input: history on the five-minute grid with its incidents."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from failcast.chaos import Fault, FaultKind, Incident, build_fleet, history_matrix
from failcast.chaos.faults import ORGANIC_RATE_PER_DAY
from failcast.chaos.hardness import HARD, Hardness
from failcast.chaos.history import DEFAULT_START
from failcast.chaos.signals import SeriesMatrix
from failcast.predict.dataset import STEP_MS, FleetData, ServiceData
from failcast.predict.labels import HOUR_MS


class SimulatedHistory(NamedTuple):
    fleet: FleetData
    incidents: list[Incident]


def fleet_from_matrix(
    matrix: SeriesMatrix, kinds: dict[str, str], dependencies: dict[str, tuple[str, ...]]
) -> FleetData:
    """Regroup a simulator matrix (rows are (service, metric) series) by service."""
    ts = np.round(matrix.ts * 1000).astype(np.int64)
    services: dict[str, ServiceData] = {}
    for (service, metric), row in zip(matrix.series, matrix.values, strict=True):
        data = services.setdefault(
            service,
            ServiceData(kinds.get(service, "microservice"), {}, dependencies.get(service, ())),
        )
        data.metrics[metric] = np.asarray(row, dtype=np.float64)
    return FleetData(ts, services)


def simulated_history(
    days: float,
    services: int,
    seed: int,
    *,
    faults: Sequence[Fault] = (),
    hardness: Hardness = HARD,
    rate_per_day: float = ORGANIC_RATE_PER_DAY,
) -> SimulatedHistory:
    """`days` of simulated history for `services` services on the prediction grid; hard by
    default (harmless ramps, resets, varied precursors, missing data, late or lost records)."""
    result = history_matrix(
        days, services, step_s=STEP_MS // 1000, seed=seed, faults=faults,
        organic_rate_per_day=rate_per_day, hardness=hardness,
    )  # fmt: skip
    topology = result.topology
    kinds = {name: str(kind) for name, kind in topology.kinds.items()}
    deps = {name: tuple(d) for name, d in topology.dependencies.items()}
    return SimulatedHistory(fleet_from_matrix(result.matrix, kinds, deps), result.incidents)


def cascade_faults(days: float, services: int, seed: int, count: int) -> list[Fault]:
    """`count` chaos cascades spread over the history, each on a random service that others
    depend on, lasting 15 to 60 minutes: ground truth for grading root causes."""
    fleet = build_fleet(services)
    shared = [n for n in fleet.names if fleet.topology.dependents(n)]
    rng = np.random.default_rng([seed, 0xCA5CADE])
    span = max(days - 3.0, 1.0)
    return [
        Fault(
            FaultKind.cascade,
            str(rng.choice(shared)),
            DEFAULT_START + 86400.0 * (2.0 + i * span / count) + float(rng.uniform(0, 43200)),
            float(rng.uniform(900, 3600)),
        )
        for i in range(count)
    ]


def precursor_ceiling(
    ts_ms: npt.ArrayLike,
    services: Sequence[str],
    incidents: Sequence[Incident],
    horizon_h: float,
) -> dict[str, float]:
    """The best any causal forecaster could score on these rows, from the simulator's ground
    truth: a failure shows nothing before its precursor begins, and a sudden one (no
    precursor) shows nothing at all.

    - row_recall: share of positive rows (an incident starts within the horizon) at whose
      time the precursor of such an incident had already begun;
    - event_recall: share of incidents (whose whole warning window lies among the rows, as in
      `metrics.events`) with at least one row in that window after their precursor began;
    - sudden: incidents among those with no precursor at all.
    """
    ts = np.asarray(ts_ms, dtype=np.int64)
    names = np.asarray(services)
    h_ms = round(horizon_h * HOUR_MS)
    positive = np.zeros(len(ts), dtype=bool)
    seen = np.zeros(len(ts), dtype=bool)
    warned = total = sudden = 0
    lo, hi = (int(ts.min()), int(ts.max())) if len(ts) else (0, -1)
    for incident in incidents:
        mine = names == incident.service
        start = round(incident.start * 1000)
        window = mine & (ts < start) & (ts >= start - h_ms)
        positive |= window
        began = incident.precursor_start
        visible = window & (ts >= round(began * 1000)) if began is not None else window & False
        seen |= visible
        if start - h_ms < lo or start > hi:
            continue
        total += 1
        sudden += began is None
        warned += bool(visible.any())
    return {
        "row_recall": float(seen.sum() / positive.sum()) if positive.any() else math.nan,
        "event_recall": warned / total if total else math.nan,
        "positives": float(positive.sum()),
        "incidents": float(total),
        "sudden": float(sudden),
    }
