"""Anomaly likelihood: how unusual a detector's recent scores are, given its own history."""

from __future__ import annotations

import math
from typing import Any

from failcast.detect.base import SingleMetricDetector, State, one_sided_surprise
from failcast.detect.registry import create, register, restore, single

Spec = dict[str, Any]

_SINGLE = "likelihood needs a single-metric detector inside"


@register
class AnomalyLikelihood(SingleMetricDetector):
    """Re-scores an inner detector by the rarity of its short-term average score.

    A noisy metric keeps its detector's raw score high all the time; what matters is a run of
    scores higher than that metric usually produces. The mean of the last `short` raw scores is
    compared with the mean and spread of the last `history` ones and its upper tail probability
    is reported on the shared log scale (the idea behind HTM's anomaly likelihood).

    With `averaged`, the history holds the short-term means themselves rather than the raw
    scores, as HTM's anomaly likelihood does: the spread of a mean of `short` correlated scores
    is what the current mean should be judged against, not the spread of single scores.

    Two optional refinements, both causal: a value outside the range seen so far, widened by
    `spatial_tolerance` of that range, scores 1 (a "spatial" anomaly); and after a score of at
    least `rest_threshold`, the next `rest` points score 0, so one incident raises one alarm.
    """

    name = "likelihood"

    def __init__(
        self,
        inner: Spec | None = None,
        history: int = 2000,
        short: int = 10,
        warmup: int = 150,
        min_std: float = 0.01,
        spatial_tolerance: float = 0.0,
        rest: int = 0,
        rest_threshold: float = 0.5,
        averaged: bool = False,
    ) -> None:
        if history < 2 or short < 1:
            raise ValueError("need history >= 2 and short >= 1")
        self.inner: Spec = dict(inner) if inner is not None else {"name": "holt_winters"}
        self.history = history
        self.short = short
        self.warmup = max(warmup, short)
        self.min_std = min_std
        self.spatial_tolerance = spatial_tolerance
        self.rest = rest
        self.rest_threshold = rest_threshold
        self.averaged = averaged
        inner_params: dict[str, Any] = dict(self.inner.get("params", {}))
        self._detector = single(create(str(self.inner["name"]), **inner_params), _SINGLE)
        self._raw: list[float] = []  # ring buffer of the last `history` raw scores
        self._pos = 0
        self._sum = 0.0
        self._sumsq = 0.0
        self._recent: list[float] = []  # ring buffer of the last `short` raw scores
        self._recent_pos = 0
        self._recent_sum = 0.0
        self._n = 0
        self._lo = math.inf
        self._hi = -math.inf
        self._quiet = 0

    def params(self) -> dict[str, Any]:
        return {
            "inner": self.inner,
            "history": self.history,
            "short": self.short,
            "warmup": self.warmup,
            "min_std": self.min_std,
            "spatial_tolerance": self.spatial_tolerance,
            "rest": self.rest,
            "rest_threshold": self.rest_threshold,
            "averaged": self.averaged,
        }

    def _get_state(self) -> State:
        return {
            "detector": self._detector.state_dict(),
            "raw": list(self._raw),
            "pos": self._pos,
            "sum": self._sum,
            "sumsq": self._sumsq,
            "recent": list(self._recent),
            "recent_pos": self._recent_pos,
            "recent_sum": self._recent_sum,
            "n": self._n,
            "lo": self._lo if self._n else None,
            "hi": self._hi if self._n else None,
            "quiet": self._quiet,
        }

    def _set_state(self, state: State) -> None:
        self._detector = single(restore(state["detector"]), _SINGLE)
        self._raw = [float(v) for v in state["raw"]]
        self._pos = int(state["pos"])
        self._sum = float(state["sum"])
        self._sumsq = float(state["sumsq"])
        self._recent = [float(v) for v in state["recent"]]
        self._recent_pos = int(state["recent_pos"])
        self._recent_sum = float(state["recent_sum"])
        self._n = int(state["n"])
        self._lo = math.inf if state["lo"] is None else float(state["lo"])
        self._hi = -math.inf if state["hi"] is None else float(state["hi"])
        self._quiet = int(state["quiet"])

    def _likelihood(self, raw: float, v: float) -> float:
        """Score of a point with raw score `raw`, given the buffers before it."""
        if self._n < self.warmup:
            return 0.0
        short = self._recent_sum + raw
        count = len(self._recent) + 1
        if len(self._recent) == self.short:
            short -= self._recent[self._recent_pos]
            count -= 1
        m = len(self._raw)
        mean = self._sum / m
        var = max(self._sumsq / m - mean * mean, 0.0)
        std = max(math.sqrt(var), self.min_std)
        score = one_sided_surprise((short / count - mean) / std)
        if self.spatial_tolerance > 0.0 and self._hi > self._lo:
            pad = self.spatial_tolerance * (self._hi - self._lo)
            if v > self._hi + pad or v < self._lo - pad:
                score = 1.0
        return score

    def score_one(self, x: float, t: int | None = None) -> float:
        v = float(x)
        if v != v or self._quiet > 0:
            return 0.0
        return self._likelihood(self._detector.score_one(v, t), v)

    def update(self, x: float, t: int | None = None) -> float:
        v = float(x)
        raw = self._detector.update(v, t)
        if v != v:
            return 0.0
        score = self._likelihood(raw, v)
        if self._quiet > 0:
            self._quiet -= 1
            score = 0.0
        elif self.rest and score >= self.rest_threshold:
            self._quiet = self.rest
        self._push(raw, v)
        return score

    def _push(self, raw: float, v: float) -> None:
        self._n += 1
        self._lo = min(self._lo, v)
        self._hi = max(self._hi, v)
        if len(self._recent) < self.short:
            self._recent.append(raw)
        else:
            self._recent_sum -= self._recent[self._recent_pos]
            self._recent[self._recent_pos] = raw
            self._recent_pos = (self._recent_pos + 1) % self.short
        self._recent_sum += raw
        if self.averaged:
            raw = self._recent_sum / len(self._recent)
        if len(self._raw) < self.history:
            self._raw.append(raw)
        else:
            old = self._raw[self._pos]
            self._sum -= old
            self._sumsq -= old * old
            self._raw[self._pos] = raw
            self._pos = (self._pos + 1) % self.history
        self._sum += raw
        self._sumsq += raw * raw
