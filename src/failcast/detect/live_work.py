"""What live scoring works on: the series a detector reads, the state it saved, one run's
work item, and the budgets of a run (detect/live_store.py reads and writes them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from failcast.detect.base import State
from failcast.detect.live import DEFAULT_DETECTOR, SERVICE_DETECTOR, SERVICE_SCOPE, Spec

HOUR_MS = 3_600_000
Points = list[tuple[int, float]]


def detector_key(service_id: int, metric: str, labels: dict[str, str]) -> str:
    """A detector's name in logs and its place among equals in a run's order: a series, or
    (`metric` = SERVICE_SCOPE, no labels) a service's vector."""
    return f"{service_id}/{metric}{labels or ''}"


@dataclass(frozen=True, slots=True)
class Input:
    series_id: int
    service_id: int
    metric: str
    labels: dict[str, str]
    # Kept, as inputs are cached across runs and every run sorts the org's series by it.
    key: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", detector_key(self.service_id, self.metric, self.labels))


@dataclass(frozen=True, slots=True)
class Saved:
    score_series_id: int
    detector: str
    version: str
    cursor_ts: int
    scored_at: datetime
    # Read only for the detectors a run advances: a few kilobytes each, of every detector.
    state: State = field(default_factory=dict)


@dataclass
class Work:
    """One detector to advance: a series, or a service's whole metric vector."""

    service_id: int
    metric: str  # the scored metric, or SERVICE_SCOPE
    labels: dict[str, str]
    inputs: list[Input]
    spec: Spec
    saved: Saved | None
    series_id: int | None = None
    points: Points = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)
    row_ts: list[int] = field(default_factory=list)
    scores: Points = field(default_factory=list)
    changes: Points = field(default_factory=list)
    cursor: int | None = None  # the newest input timestamp scored
    state: State = field(default_factory=dict)
    reset: bool = False

    @property
    def start(self) -> int | None:
        return None if self.saved is None else self.saved.cursor_ts + 1

    @property
    def scored(self) -> int:
        """Points (or rows) this run advanced the detector by."""
        return len(self.points) or len(self.rows)

    @property
    def key(self) -> str:
        return detector_key(self.service_id, self.metric, self.labels)


class Candidate(NamedTuple):
    """A detector that may advance in a run, before its work is built: an org holds many more
    than a run advances, so they are ordered and cut as tuples, and only the chosen ones
    become `Work`."""

    saved: Saved | None
    key: str
    inputs: list[Input]  # the scored series, or a service's whole vector
    service_id: int | None = None  # set for a service's vector

    @classmethod
    def of_series(cls, i: Input, saved: Saved | None) -> Candidate:
        return cls(saved, i.key, [i])

    @classmethod
    def of_service(cls, service_id: int, members: list[Input], saved: Saved | None) -> Candidate:
        return cls(saved, detector_key(service_id, SERVICE_SCOPE, {}), members, service_id)

    def work(self, cfg: LiveConfig, picked: Mapping[tuple[int, str], Spec]) -> Work:
        """The work of this detector: the service-wide detector, or the one picked for the
        series' metric (the default where none is)."""
        if self.service_id is not None:
            assert cfg.service_detector is not None  # no service candidates without one
            return Work(
                self.service_id, SERVICE_SCOPE, {}, self.inputs, cfg.service_detector, self.saved
            )
        (i,) = self.inputs
        spec = picked.get((i.service_id, i.metric), cfg.detector)
        return Work(
            i.service_id, i.metric, i.labels, self.inputs, spec, self.saved, series_id=i.series_id
        )


@dataclass(frozen=True)
class LiveConfig:
    """What live scoring runs and how much one run may take on."""

    detector: Spec = field(default_factory=lambda: dict(DEFAULT_DETECTOR))
    # None: no service-wide detector.
    service_detector: Spec | None = field(default_factory=lambda: dict(SERVICE_DETECTOR))
    max_series: int = 2_000  # detectors advanced per org and run
    max_points: int = 100_000  # samples read per org and run
    max_points_per_series: int = 5_000
    # A series seen for the first time is scored from this far back, not from its beginning.
    initial_lookback_ms: int = 24 * HOUR_MS
    # A service-wide vector over more series than this is not worth its covariance matrix.
    max_service_series: int = 40
    # Score series the org may hold: detectors without one yet start only while there is
    # room (derived series count against the store like any other); None: no cap.
    max_score_series: int | None = None
