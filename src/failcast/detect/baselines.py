"""Robust z-scores, the references every detector is measured against.

- `mad_zscore`: the distance of each value from the median of the previous `window` values,
  in units of their median absolute deviation (scaled to a normal sigma);
- `reference_zscore`: the same against the median and MAD of the first `reference` values,
  frozen afterwards (for data with a training period, such as ASD's 30 days); while it learns,
  its statistics are refreshed each time the count grows by a sixteenth.

Both fall back to the standard deviation when the MAD is 0, and to a tiny scale when that is 0
too. Scores are the two-sided normal surprise of the z-score mapped to [0, 1), so they rank
exactly as |z| does. No score is given before `min_points` values.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from typing import Any

from failcast.detect.base import SingleMetricDetector, State
from failcast.detect.registry import register
from failcast.detect.tail import normal_two_sided, unit

_MAD_TO_SIGMA = 1.4826


def _median(ordered: list[float]) -> float:
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def robust_scale(ordered: list[float]) -> tuple[float, float]:
    """(median, scale) of sorted values: 1.4826 MAD, else the standard deviation, else tiny.

    >>> robust_scale([1.0, 2.0, 3.0, 4.0, 100.0])  # the outlier moves neither
    (3.0, 1.4826)
    >>> robust_scale([5.0, 5.0, 5.0])
    (5.0, 5e-09)
    """
    med = _median(ordered)
    scale = _MAD_TO_SIGMA * _median(sorted(abs(v - med) for v in ordered))
    if scale <= 0.0:
        n = len(ordered)
        mean = sum(ordered) / n
        scale = math.sqrt(sum((v - mean) ** 2 for v in ordered) / n)
    if scale <= 0.0:
        scale = 1e-9 * max(1.0, abs(med))
    return med, scale


@register
class MadZScore(SingleMetricDetector):
    """|x - median| / MAD over the previous `window` values (a rolling, causal baseline)."""

    name = "mad_zscore"

    def __init__(self, window: int = 288, min_points: int = 72) -> None:
        if window < 2 or not 1 <= min_points <= window:
            raise ValueError("need window >= 2 and 1 <= min_points <= window")
        self.window = window
        self.min_points = min_points
        self._buf: deque[float] = deque()
        self._sorted: list[float] = []

    def params(self) -> dict[str, Any]:
        return {"window": self.window, "min_points": self.min_points}

    def _get_state(self) -> State:
        return {"buf": list(self._buf)}

    def _set_state(self, state: State) -> None:
        self._buf = deque(float(v) for v in state["buf"])
        self._sorted = sorted(self._buf)

    def zscore(self, v: float) -> float:
        if len(self._sorted) < self.min_points:
            return math.nan
        med, scale = robust_scale(self._sorted)
        return (v - med) / scale

    def score_one(self, x: float, t: int | None = None) -> float:
        v = float(x)
        z = self.zscore(v) if v == v else math.nan
        return math.nan if z != z else unit(normal_two_sided(z))

    def update(self, x: float, t: int | None = None) -> float:
        score = self.score_one(x, t)
        v = float(x)
        if v == v:
            self._buf.append(v)
            bisect.insort(self._sorted, v)
            if len(self._buf) > self.window:
                old = self._buf.popleft()
                del self._sorted[bisect.bisect_left(self._sorted, old)]
        return score


@register
class ReferenceZScore(SingleMetricDetector):
    """|x - median| / MAD of the first `reference` values, which are learned and then frozen."""

    name = "reference_zscore"

    def __init__(self, reference: int = 8640, min_points: int = 72) -> None:
        if not 1 <= min_points <= reference:
            raise ValueError("need 1 <= min_points <= reference")
        self.reference = reference
        self.min_points = min_points
        self._sorted: list[float] = []
        self._frozen: tuple[float, float] | None = None
        self._frozen_at = 0

    def params(self) -> dict[str, Any]:
        return {"reference": self.reference, "min_points": self.min_points}

    def _get_state(self) -> State:
        frozen = None if self._frozen is None else list(self._frozen)
        return {"sorted": list(self._sorted), "at": self._frozen_at, "stats": frozen}

    def _set_state(self, state: State) -> None:
        self._sorted = [float(v) for v in state["sorted"]]
        self._frozen_at = int(state["at"])
        stats = state["stats"]
        self._frozen = None if stats is None else (float(stats[0]), float(stats[1]))

    def _stats(self) -> tuple[float, float] | None:
        n = len(self._sorted)
        if n < self.min_points:
            return None
        if n >= self.reference:
            if self._frozen is None or self._frozen_at != n:
                self._frozen, self._frozen_at = robust_scale(self._sorted), n
            return self._frozen
        # While learning, the statistics are refreshed whenever the count has grown by a
        # sixteenth: a MAD per point would cost the square of the reference's length.
        if self._frozen is None or n >= self._frozen_at * 17 // 16 + 1:
            self._frozen, self._frozen_at = robust_scale(self._sorted), n
        return self._frozen

    def score_one(self, x: float, t: int | None = None) -> float:
        v = float(x)
        stats = self._stats()
        if v != v or stats is None:
            return math.nan
        return unit(normal_two_sided((v - stats[0]) / stats[1]))

    def update(self, x: float, t: int | None = None) -> float:
        score = self.score_one(x, t)
        v = float(x)
        if v == v and len(self._sorted) < self.reference:
            bisect.insort(self._sorted, v)
        return score
