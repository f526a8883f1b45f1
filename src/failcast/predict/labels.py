"""Targets for failure prediction: does an incident start within (t, t + H]?"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

HOUR_MS = 3_600_000
DEFAULT_HORIZONS: tuple[int, ...] = (1, 24, 48, 72)
INCIDENT_TYPES: tuple[str, ...] = (
    "latency_spike",
    "accuracy_decay",
    "cost_overload",
    "pipeline_failure",
    "resource_exhaustion",
    "cascade",
)


class IncidentLike(Protocol):
    """What training needs of an incident; `start` and `end` are Unix seconds."""

    @property
    def service(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...
    @property
    def root_cause_service(self) -> str: ...


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """A plain incident, e.g. one read from the database."""

    service: str
    type: str
    start: float
    end: float
    root_cause_service: str


def starts_by_service(incidents: Iterable[IncidentLike]) -> dict[str, tuple[IntArray, list[str]]]:
    """Each service's incident start times (epoch ms, ascending) and their types."""
    grouped: dict[str, list[tuple[int, str]]] = {}
    for incident in incidents:
        grouped.setdefault(incident.service, []).append(
            (round(float(incident.start) * 1000), str(incident.type))
        )
    result: dict[str, tuple[IntArray, list[str]]] = {}
    for service, items in grouped.items():
        items.sort()
        result[service] = (
            np.array([t for t, _ in items], dtype=np.int64),
            [kind for _, kind in items],
        )
    return result


def horizon_labels(ts_ms: npt.ArrayLike, starts_ms: npt.ArrayLike, horizon_h: float) -> BoolArray:
    """True at t when some start lies in (t, t + horizon]; never from t itself or before."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    starts = np.sort(np.asarray(starts_ms, dtype=np.int64))
    if starts.size == 0:
        return np.zeros(ts.shape, dtype=bool)
    nxt = np.searchsorted(starts, ts, side="right")
    ok = nxt < starts.size
    out = np.zeros(ts.shape, dtype=bool)
    out[ok] = starts[nxt[ok]] <= ts[ok] + round(horizon_h * HOUR_MS)
    return out


def next_incident_type(
    ts_ms: npt.ArrayLike, starts_ms: npt.ArrayLike, types: Sequence[str], horizon_h: float
) -> list[str | None]:
    """Type of the first incident starting in (t, t + horizon], or None."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    starts = np.asarray(starts_ms, dtype=np.int64)
    if starts.size == 0:
        return [None] * ts.size
    nxt = np.searchsorted(starts, ts, side="right")
    limit = round(horizon_h * HOUR_MS)
    out: list[str | None] = []
    for t, i in zip(ts.tolist(), nxt.tolist(), strict=True):
        out.append(types[i] if i < starts.size and starts[i] <= t + limit else None)
    return out


def recent_labels(ts_ms: npt.ArrayLike, starts_ms: npt.ArrayLike, horizon_h: float) -> BoolArray:
    """True at t when some start lies in (t - horizon, t]: known at t, the persistence forecast."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    return horizon_labels(ts - round(horizon_h * HOUR_MS), starts_ms, horizon_h)


def labels_for_rows(
    ts_ms: npt.ArrayLike,
    services: Sequence[str],
    incidents: Mapping[str, tuple[IntArray, list[str]]],
    horizon_h: float,
) -> BoolArray:
    """`horizon_labels` for rows of many services (row i belongs to `services[i]`)."""
    ts = np.asarray(ts_ms, dtype=np.int64)
    out = np.zeros(ts.shape, dtype=bool)
    names = np.asarray(services)
    for service in set(services):
        rows = np.flatnonzero(names == service)
        starts = incidents.get(service, (np.zeros(0, dtype=np.int64), []))[0]
        out[rows] = horizon_labels(ts[rows], starts, horizon_h)
    return out
