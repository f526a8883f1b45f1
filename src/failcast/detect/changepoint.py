"""Change-point detectors for level shifts and slow decay: CUSUM and Page-Hinkley."""

from __future__ import annotations

from typing import Any

from failcast.detect.base import SingleMetricDetector, State
from failcast.detect.registry import register
from failcast.detect.seasonal import SeasonalBaseline


@register
class Cusum(SingleMetricDetector):
    """Two-sided CUSUM of standardised values; the score reaches 0.5 when the sum reaches `h`.

    Values are standardised against a robust seasonal baseline (see `SeasonalBaseline`), so a
    daily cycle is not mistaken for a shift. Each step adds at most `cap` standard deviations,
    so an isolated spike cannot trigger it on its own: it answers "has the level moved?". After
    a detection the sums restart and the baseline jumps to the new level, so a lasting shift
    raises one alarm, not an endless run.
    """

    name = "cusum"

    def __init__(
        self,
        k: float = 1.0,
        h: float = 10.0,
        cap: float = 4.0,
        alpha: float = 0.02,
        season: str = "hour_of_day",
        warmup: int = 30,
    ) -> None:
        if h <= 0 or k < 0:
            raise ValueError("need h > 0 and k >= 0")
        self.k = k
        self.h = h
        self.cap = cap
        self.alpha = alpha
        self.season = season
        self.warmup = warmup
        self._base = SeasonalBaseline(season=season, alpha=alpha, clip=cap)
        self._n = 0
        self._up = 0.0
        self._down = 0.0

    def params(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "h": self.h,
            "cap": self.cap,
            "alpha": self.alpha,
            "season": self.season,
            "warmup": self.warmup,
        }

    def _get_state(self) -> State:
        return {"base": self._base.state_dict(), "n": self._n, "up": self._up, "down": self._down}

    def _set_state(self, state: State) -> None:
        self._base = SeasonalBaseline.from_state(state["base"])
        self._n = int(state["n"])
        self._up = float(state["up"])
        self._down = float(state["down"])

    def _sums(self, v: float, t: int | None) -> tuple[float, float] | None:
        z = self._base.zscore(v, t)
        if z is None or self._n < self.warmup:
            return None
        z = min(max(z, -self.cap), self.cap)
        return max(0.0, self._up + z - self.k), max(0.0, self._down - z - self.k)

    def score_one(self, x: float, t: int | None = None) -> float:
        v = float(x)
        sums = None if v != v else self._sums(v, t)
        return 0.0 if sums is None else min(1.0, max(sums) / (2.0 * self.h))

    def update(self, x: float, t: int | None = None) -> float:
        v = float(x)
        if v != v:
            return 0.0
        sums = self._sums(v, t)
        self._n += 1
        if sums is None:
            self._base.update(v, t)
            return 0.0
        up, down = sums
        score = min(1.0, max(up, down) / (2.0 * self.h))
        if max(up, down) >= self.h:
            self._up = self._down = 0.0
            self._base.shift(v, t)
        else:
            self._up, self._down = up, down
        self._base.update(v, t)
        return score


@register
class PageHinkley(SingleMetricDetector):
    """Page-Hinkley test on standardised values, for drifts such as a slowly decaying accuracy.

    `direction` is "up", "down" (e.g. accuracy falling) or "both". The score reaches 0.5 when
    the cumulative deviation beyond `delta` reaches `threshold`; the test then restarts on the
    new regime.
    """

    name = "page_hinkley"

    def __init__(
        self,
        delta: float = 0.5,
        threshold: float = 20.0,
        direction: str = "both",
        alpha: float = 0.01,
        cap: float = 4.0,
        season: str = "none",
        warmup: int = 30,
    ) -> None:
        if direction not in ("up", "down", "both"):
            raise ValueError("direction must be 'up', 'down' or 'both'")
        self.delta = delta
        self.threshold = threshold
        self.direction = direction
        self.alpha = alpha
        self.cap = cap
        self.season = season
        self.warmup = warmup
        self._base = SeasonalBaseline(season=season, alpha=alpha, clip=cap)
        self._n = 0
        self._sum_up = 0.0
        self._min_up = 0.0
        self._sum_down = 0.0
        self._min_down = 0.0

    def params(self) -> dict[str, Any]:
        return {
            "delta": self.delta,
            "threshold": self.threshold,
            "direction": self.direction,
            "alpha": self.alpha,
            "cap": self.cap,
            "season": self.season,
            "warmup": self.warmup,
        }

    def _get_state(self) -> State:
        return {
            "base": self._base.state_dict(),
            "n": self._n,
            "sum_up": self._sum_up,
            "min_up": self._min_up,
            "sum_down": self._sum_down,
            "min_down": self._min_down,
        }

    def _set_state(self, state: State) -> None:
        self._base = SeasonalBaseline.from_state(state["base"])
        self._n = int(state["n"])
        self._sum_up = float(state["sum_up"])
        self._min_up = float(state["min_up"])
        self._sum_down = float(state["sum_down"])
        self._min_down = float(state["min_down"])

    def _next(self, v: float, t: int | None) -> tuple[float, float, float, float, float] | None:
        z = self._base.zscore(v, t)
        if z is None or self._n < self.warmup:
            return None
        z = min(max(z, -self.cap), self.cap)
        sum_up = self._sum_up + z - self.delta
        min_up = min(self._min_up, sum_up)
        sum_down = self._sum_down - z - self.delta
        min_down = min(self._min_down, sum_down)
        stat = 0.0
        if self.direction in ("up", "both"):
            stat = sum_up - min_up
        if self.direction in ("down", "both"):
            stat = max(stat, sum_down - min_down)
        return stat, sum_up, min_up, sum_down, min_down

    def score_one(self, x: float, t: int | None = None) -> float:
        v = float(x)
        step = None if v != v else self._next(v, t)
        return 0.0 if step is None else min(1.0, step[0] / (2.0 * self.threshold))

    def update(self, x: float, t: int | None = None) -> float:
        v = float(x)
        if v != v:
            return 0.0
        step = self._next(v, t)
        self._n += 1
        if step is None:
            self._base.update(v, t)
            return 0.0
        stat, sum_up, min_up, sum_down, min_down = step
        score = min(1.0, stat / (2.0 * self.threshold))
        if stat >= self.threshold:
            self._sum_up = self._min_up = self._sum_down = self._min_down = 0.0
            self._base.shift(v, t)
        else:
            self._sum_up, self._min_up = sum_up, min_up
            self._sum_down, self._min_down = sum_down, min_down
        self._base.update(v, t)
        return score
