"""Robust seasonal baseline: a level and a spread for each hour of the day or of the week."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from failcast.detect.base import SingleMetricDetector, State, surprise
from failcast.detect.registry import register

_HOUR_MS = 3_600_000
_DAY_MS = 86_400_000
_BUCKETS = {"none": 1, "hour_of_day": 24, "hour_of_week": 168}
# Mean absolute deviation of a normal distribution is sigma * sqrt(2 / pi).
_ABSDEV_TO_SIGMA = math.sqrt(math.pi / 2.0)


def season_bucket(season: str, t: int | None) -> int:
    """Bucket of timestamp `t` (epoch ms); everything is bucket 0 without a timestamp."""
    if t is None or season == "none":
        return 0
    hour = (t // _HOUR_MS) % 24
    if season == "hour_of_day":
        return hour
    return ((t // _DAY_MS + 3) % 7) * 24 + hour


def season_buckets(
    season: str, timestamps: npt.NDArray[np.int64] | None, n: int
) -> npt.NDArray[np.int64]:
    """`season_bucket` of each of `n` timestamps (all bucket 0 without timestamps)."""
    if timestamps is None or season == "none":
        return np.zeros(n, dtype=np.int64)
    t = np.asarray(timestamps, dtype=np.int64)
    hour = (t // _HOUR_MS) % 24
    if season == "hour_of_day":
        return hour
    return ((t // _DAY_MS + 3) % 7) * 24 + hour


@register
class SeasonalBaseline(SingleMetricDetector):
    """Distance from the usual level of the same hour, in robust standard deviations.

    Each bucket keeps an exponentially weighted level and mean absolute deviation. Updates use
    residuals clipped at `clip` deviations (a Huber-style step), so an incident does not drag the
    baseline with it. Until a bucket has `min_count` points the overall baseline stands in.
    """

    name = "seasonal"

    def __init__(
        self,
        season: str = "hour_of_day",
        alpha: float = 0.05,
        clip: float = 3.0,
        min_count: int = 5,
        min_scale: float = 1e-9,
    ) -> None:
        if season not in _BUCKETS:
            raise ValueError(f"season must be one of {sorted(_BUCKETS)}, got {season!r}")
        if not 0.0 < alpha <= 1.0:
            raise ValueError("alpha must be within (0, 1]")
        self.season = season
        self.alpha = alpha
        self.clip = clip
        self.min_count = min_count
        self.min_scale = min_scale
        size = _BUCKETS[season]
        # Bucket arrays, with index `size` holding the overall baseline.
        self._count = [0] * (size + 1)
        self._level = [0.0] * (size + 1)
        self._dev = [0.0] * (size + 1)

    def params(self) -> dict[str, Any]:
        return {
            "season": self.season,
            "alpha": self.alpha,
            "clip": self.clip,
            "min_count": self.min_count,
            "min_scale": self.min_scale,
        }

    def _get_state(self) -> State:
        return {"count": list(self._count), "level": list(self._level), "dev": list(self._dev)}

    def _set_state(self, state: State) -> None:
        self._count = [int(v) for v in state["count"]]
        self._level = [float(v) for v in state["level"]]
        self._dev = [float(v) for v in state["dev"]]

    def _pick(self, t: int | None) -> tuple[int, int]:
        bucket = season_bucket(self.season, t)
        overall = len(self._count) - 1
        use = bucket if self._count[bucket] >= self.min_count else overall
        return bucket, use

    def _sigma(self, i: int) -> float:
        level = self._level[i]
        return max(self._dev[i] * _ABSDEV_TO_SIGMA, 1e-6 * abs(level), self.min_scale)

    def score_one(self, x: float, t: int | None = None) -> float:
        v = float(x)
        if v != v:
            return 0.0
        _, use = self._pick(t)
        if self._count[use] < self.min_count:
            return 0.0
        return surprise(abs(v - self._level[use]) / self._sigma(use))

    def update(self, x: float, t: int | None = None) -> float:
        v = float(x)
        if v != v:
            return 0.0
        bucket, use = self._pick(t)
        score = 0.0
        if self._count[use] >= self.min_count:
            score = surprise(abs(v - self._level[use]) / self._sigma(use))
        for i in (bucket, len(self._count) - 1) if bucket != len(self._count) - 1 else (bucket,):
            self._learn(i, v)
        return score

    def zscore(self, v: float, t: int | None) -> float | None:
        """Signed deviation from the baseline in robust sigmas, or None while warming up."""
        _, use = self._pick(t)
        if self._count[use] < self.min_count:
            return None
        return (v - self._level[use]) / self._sigma(use)

    def offset(self, t: int | None) -> float:
        """How far the usual level at `t` sits from the overall level (0 while warming up)."""
        bucket = season_bucket(self.season, t)
        overall = len(self._count) - 1
        if bucket == overall or self._count[bucket] < self.min_count:
            return 0.0
        return self._level[bucket] - self._level[overall]

    def overall_sigma(self) -> float:
        """The spread of the whole series around its level, in the units of the values."""
        return self._sigma(len(self._count) - 1)

    def shift(self, v: float, t: int | None) -> None:
        """Move every level so that the baseline at `t` becomes `v` (after a level shift)."""
        _, use = self._pick(t)
        delta = v - self._level[use]
        self._level = [level + delta for level in self._level]

    def _learn(self, i: int, v: float) -> None:
        n = self._count[i] + 1
        self._count[i] = n
        if n == 1:
            self._level[i] = v
            self._dev[i] = 0.0
            return
        a = max(self.alpha, 1.0 / n)
        r = v - self._level[i]
        if n > self.min_count:
            bound = self.clip * self._sigma(i)
            r = min(max(r, -bound), bound)
        self._level[i] += a * r
        self._dev[i] += a * (abs(r) - self._dev[i])
