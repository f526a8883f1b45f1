"""Detectors made of detectors: a fused ensemble, and one detector per metric."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from failcast.detect.base import (
    AnyDetector,
    MultiMetricDetector,
    SingleMetricDetector,
    State,
    Vector,
)
from failcast.detect.registry import create, register, restore, single

Spec = dict[str, Any]

_ENSEMBLE_SINGLE = "ensemble members must take one metric; wrap it in 'per_metric'"
_PER_METRIC_SINGLE = "per_metric needs a single-metric detector inside"
_REST_SINGLE = "rest needs a single-metric detector inside"

DEFAULT_MEMBERS: tuple[Spec, ...] = (
    {"name": "seasonal"},
    {"name": "holt_winters"},
    {"name": "cusum"},
)


def _build(spec: Spec) -> AnyDetector:
    return create(str(spec["name"]), **dict(spec.get("params", {})))


@register
class Ensemble(SingleMetricDetector):
    """Fuses member scores into one in [0, 1]: their maximum, or a weighted mean.

    The maximum keeps each member's meaning (a spike, a seasonal oddity, a level shift) and the
    scores share one scale, so no member needs re-weighting to be heard.
    """

    name = "ensemble"

    def __init__(
        self,
        members: list[Spec] | None = None,
        fuse: str = "max",
        weights: list[float] | None = None,
    ) -> None:
        specs = [dict(m) for m in (members if members is not None else DEFAULT_MEMBERS)]
        if not specs:
            raise ValueError("an ensemble needs at least one member")
        if fuse not in ("max", "mean"):
            raise ValueError("fuse must be 'max' or 'mean'")
        if weights is not None and len(weights) != len(specs):
            raise ValueError("need one weight per member")
        self.members = specs
        self.fuse = fuse
        self.weights = list(weights) if weights is not None else [1.0] * len(specs)
        built = [_build(s) for s in specs]
        self._detectors = [single(d, _ENSEMBLE_SINGLE) for d in built]
        self._total = sum(self.weights)

    def params(self) -> dict[str, Any]:
        return {"members": self.members, "fuse": self.fuse, "weights": self.weights}

    def _get_state(self) -> State:
        return {"members": [d.state_dict() for d in self._detectors]}

    def _set_state(self, state: State) -> None:
        self._detectors = [single(restore(s), _ENSEMBLE_SINGLE) for s in state["members"]]

    def _combine(self, scores: list[float]) -> float:
        if self.fuse == "max":
            return max(scores)
        return sum(w * s for w, s in zip(self.weights, scores, strict=True)) / self._total

    def score_one(self, x: float, t: int | None = None) -> float:
        return self._combine([d.score_one(x, t) for d in self._detectors])

    def update(self, x: float, t: int | None = None) -> float:
        return self._combine([d.update(x, t) for d in self._detectors])


@register
class PerMetric(MultiMetricDetector):
    """One univariate detector per metric column; the row's score is the highest of them
    (ignoring metrics without a score)."""

    name = "per_metric"

    def __init__(self, inner: Spec | None = None) -> None:
        self.inner: Spec = dict(inner) if inner is not None else {"name": "ensemble"}
        single(_build(self.inner), _PER_METRIC_SINGLE)
        self._detectors: list[SingleMetricDetector] = []

    def params(self) -> dict[str, Any]:
        return {"inner": self.inner}

    def _get_state(self) -> State:
        return {"metrics": [d.state_dict() for d in self._detectors]}

    def _set_state(self, state: State) -> None:
        self._detectors = [single(restore(s), _PER_METRIC_SINGLE) for s in state["metrics"]]

    def _values(self, x: Vector) -> list[float]:
        v = np.asarray(x, dtype=np.float64).ravel().tolist()
        if not self._detectors:
            self._detectors = [single(_build(self.inner), _PER_METRIC_SINGLE) for _ in v]
        if len(v) != len(self._detectors):
            raise ValueError(f"expected {len(self._detectors)} metrics, got {len(v)}")
        return [float(e) for e in v]

    def score_one(self, x: Vector, t: int | None = None) -> float:
        v = np.asarray(x, dtype=np.float64).ravel().tolist()
        if not self._detectors:
            return 0.0
        return _highest([d.score_one(e, t) for d, e in zip(self._detectors, v, strict=True)])

    def update(self, x: Vector, t: int | None = None) -> float:
        vals = self._values(x)
        return _highest([d.update(e, t) for d, e in zip(self._detectors, vals, strict=True)])


def _highest(scores: list[float]) -> float:
    """The highest score present; NaN when no metric has one."""
    present = [s for s in scores if s == s]
    return max(present) if present else math.nan


@register
class RestPeriod(SingleMetricDetector):
    """Passes an inner detector's scores through, but scores 0 for `rest` points after a score
    of at least `threshold`, so one incident raises one alarm.

    A benchmark that rewards the earliest detection of each incident and charges every later
    one as a false positive (NAB) needs this after a fused ensemble, whose members would
    otherwise each raise their own alarm for the same incident. The inner detector keeps
    learning through the rest period.
    """

    name = "rest"

    def __init__(self, inner: Spec | None = None, rest: int = 100, threshold: float = 0.5) -> None:
        if rest < 0:
            raise ValueError("rest must be >= 0")
        self.inner: Spec = dict(inner) if inner is not None else {"name": "likelihood"}
        self.rest = rest
        self.threshold = threshold
        self._detector = single(_build(self.inner), _REST_SINGLE)
        self._quiet = 0

    def params(self) -> dict[str, Any]:
        return {"inner": self.inner, "rest": self.rest, "threshold": self.threshold}

    def _get_state(self) -> State:
        return {"detector": self._detector.state_dict(), "quiet": self._quiet}

    def _set_state(self, state: State) -> None:
        self._detector = single(restore(state["detector"]), _REST_SINGLE)
        self._quiet = int(state["quiet"])

    def score_one(self, x: float, t: int | None = None) -> float:
        if self._quiet > 0:
            return 0.0
        return self._detector.score_one(x, t)

    def update(self, x: float, t: int | None = None) -> float:
        score = self._detector.update(x, t)
        if self._quiet > 0:
            self._quiet -= 1
            return 0.0
        if self.rest and score >= self.threshold:
            self._quiet = self.rest
        return score
