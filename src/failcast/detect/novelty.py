"""Windowed novelty: how far the shape of the last few points is from every shape seen before."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from failcast.detect.base import SingleMetricDetector, State
from failcast.detect.registry import register


@register
class WindowNovelty(SingleMetricDetector):
    """Root-mean-square distance from the last `window` values to the nearest remembered window,
    in units of the range of values seen so far (an adaptive-resonance-style leader clustering).

    Remembered windows ("prototypes") are kept in the metric's own units, so a range that
    widens later rescales old and new distances alike instead of making old prototypes stale.
    A window farther than `radius` from every prototype becomes a new one (when `capacity` is
    reached it replaces the one matched least recently); a closer window pulls its nearest
    prototype towards itself by `learn_rate`. With `detrend`, each window is taken relative to
    its own mean, so only its shape counts, not its level.

    The score is the raw distance clipped to [0, 1], not a tail probability: it is meant as the
    inner detector of `likelihood`, which judges it against its own history.
    """

    name = "novelty"

    def __init__(
        self,
        window: int = 8,
        radius: float = 0.05,
        capacity: int = 500,
        learn_rate: float = 0.05,
        detrend: bool = False,
    ) -> None:
        if window < 1 or capacity < 1:
            raise ValueError("need window >= 1 and capacity >= 1")
        if not 0.0 <= learn_rate <= 1.0:
            raise ValueError("learn_rate must be within [0, 1]")
        self.window = window
        self.radius = radius
        self.capacity = capacity
        self.learn_rate = learn_rate
        self.detrend = detrend
        self._buf: list[float] = []
        # Windows are kept relative to the first value, which keeps the fast search's
        # |p|^2 - 2 p.f free of cancellation on metrics with a large constant level.
        self._ref: float | None = None
        self._lo = math.inf
        self._hi = -math.inf
        self._protos = np.zeros((capacity, window), dtype=np.float64)
        self._used = np.zeros(capacity, dtype=np.int64)
        self._norms = np.zeros(capacity, dtype=np.float64)  # squared norms, for a fast search
        self._count = 0
        self._tick = 0

    def params(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "radius": self.radius,
            "capacity": self.capacity,
            "learn_rate": self.learn_rate,
            "detrend": self.detrend,
        }

    def _get_state(self) -> State:
        return {
            "buf": list(self._buf),
            "ref": self._ref,
            "lo": self._lo if self._buf or self._count else None,
            "hi": self._hi if self._buf or self._count else None,
            "protos": self._protos[: self._count].tolist(),
            "used": self._used[: self._count].tolist(),
            "tick": self._tick,
        }

    def _set_state(self, state: State) -> None:
        self._buf = [float(v) for v in state["buf"]]
        self._ref = None if state["ref"] is None else float(state["ref"])
        self._lo = math.inf if state["lo"] is None else float(state["lo"])
        self._hi = -math.inf if state["hi"] is None else float(state["hi"])
        protos = state["protos"]
        self._count = len(protos)
        if self._count:
            self._protos[: self._count] = np.asarray(protos, dtype=np.float64)
            self._used[: self._count] = np.asarray(state["used"], dtype=np.int64)
            for j in range(self._count):
                self._norms[j] = self._protos[j] @ self._protos[j]
        self._tick = int(state["tick"])

    def _features(self, v: float) -> np.ndarray | None:
        """The window ending with `v`, or None until `window` values have been seen."""
        if len(self._buf) + 1 < self.window:
            return None
        f = np.array([*self._buf[len(self._buf) - self.window + 1 :], v], dtype=np.float64)
        f -= v if self._ref is None else self._ref
        if self.detrend:
            f -= f.mean()
        return f

    def _nearest(self, f: np.ndarray, scale: float) -> tuple[int, float]:
        """Index of the nearest prototype and its distance in units of `scale`."""
        k = self._count
        # |p|^2 - 2 p.f ranks prototypes like the distance does, with one matrix-vector product;
        # the winner's distance is then computed exactly.
        j = int(np.argmin(self._norms[:k] - 2.0 * (self._protos[:k] @ f)))
        diff = self._protos[j] - f
        dist = math.sqrt(float(diff @ diff) / self.window)
        return j, (dist / scale if scale > 0.0 else 0.0)

    def score_one(self, x: float, t: int | None = None) -> float:
        v = float(x)
        if v != v:
            return 0.0
        f = self._features(v)
        if f is None or self._count == 0:
            return 0.0
        scale = max(self._hi, v) - min(self._lo, v)
        return min(1.0, self._nearest(f, scale)[1])

    def update(self, x: float, t: int | None = None) -> float:
        v = float(x)
        if v != v:
            return 0.0
        if self._ref is None:
            self._ref = v
        f = self._features(v)
        self._lo = min(self._lo, v)
        self._hi = max(self._hi, v)
        self._buf.append(v)
        if len(self._buf) > self.window:
            del self._buf[0]
        if f is None:
            return 0.0
        self._tick += 1
        if self._count == 0:
            self._remember(f)
            return 0.0
        j, dist = self._nearest(f, self._hi - self._lo)
        if dist > self.radius:
            self._remember(f)
        else:
            self._protos[j] += self.learn_rate * (f - self._protos[j])
            self._norms[j] = self._protos[j] @ self._protos[j]
            self._used[j] = self._tick
        return min(1.0, dist)

    def _remember(self, f: np.ndarray) -> None:
        if self._count < self.capacity:
            j = self._count
            self._count += 1
        else:
            j = int(np.argmin(self._used))
        self._protos[j] = f
        self._norms[j] = f @ f
        self._used[j] = self._tick
