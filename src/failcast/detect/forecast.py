"""Forecast-residual detector: an online damped Holt-Winters model and its error spread."""

from __future__ import annotations

import math
from typing import Any

from failcast.detect.base import SingleMetricDetector, State, surprise
from failcast.detect.registry import register

_ABSDEV_TO_SIGMA = math.sqrt(math.pi / 2.0)


@register
class HoltWinters(SingleMetricDetector):
    """How far a value lands from its one-step forecast, in robust standard deviations.

    Additive level, damped trend and (when `period` > 0 points) seasonal terms are updated
    online. The error spread is an exponentially weighted mean absolute residual. Residuals are
    clipped at `clip` spreads before they update the model, so one spike neither moves the
    forecast nor inflates the spread.
    """

    name = "holt_winters"

    def __init__(
        self,
        alpha: float = 0.2,
        beta: float = 0.02,
        gamma: float = 0.1,
        phi: float = 0.9,
        period: int = 0,
        scale_alpha: float = 0.02,
        clip: float = 3.0,
        warmup: int = 20,
    ) -> None:
        for label, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma), ("phi", phi)):
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{label} must be within [0, 1]")
        if period < 0:
            raise ValueError("period must be >= 0")
        self.alpha = alpha
        self.beta = beta
        self.gamma = gamma
        self.phi = phi
        self.period = period
        self.scale_alpha = scale_alpha
        self.clip = clip
        self.warmup = max(warmup, 2 * period, 2)
        self._step = 0
        self._n = 0
        self._level = 0.0
        self._trend = 0.0
        self._dev = 0.0
        self._season = [0.0] * period

    def params(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "beta": self.beta,
            "gamma": self.gamma,
            "phi": self.phi,
            "period": self.period,
            "scale_alpha": self.scale_alpha,
            "clip": self.clip,
            "warmup": self.warmup,
        }

    def _get_state(self) -> State:
        return {
            "step": self._step,
            "n": self._n,
            "level": self._level,
            "trend": self._trend,
            "dev": self._dev,
            "season": list(self._season),
        }

    def _set_state(self, state: State) -> None:
        self._step = int(state["step"])
        self._n = int(state["n"])
        self._level = float(state["level"])
        self._trend = float(state["trend"])
        self._dev = float(state["dev"])
        self._season = [float(v) for v in state["season"]]

    def forecast(self) -> float:
        """One-step-ahead forecast of the next value (NaN before any data)."""
        if self._n == 0:
            return math.nan
        seasonal = self._season[self._step % self.period] if self.period else 0.0
        return self._level + self.phi * self._trend + seasonal

    def _sigma(self) -> float:
        return max(self._dev * _ABSDEV_TO_SIGMA, 1e-6 * abs(self._level), 1e-12)

    def score_one(self, x: float, t: int | None = None) -> float:
        v = float(x)
        if v != v or self._n < self.warmup:
            return 0.0
        return surprise(abs(v - self.forecast()) / self._sigma())

    def update(self, x: float, t: int | None = None) -> float:
        v = float(x)
        phi = self.phi
        period = self.period
        pos = self._step % period if period else 0
        self._step += 1
        if v != v:
            # Nothing observed: carry the forecast forward so the season stays aligned.
            self._level += phi * self._trend
            self._trend *= phi
            return 0.0
        n = self._n
        if n == 0:
            self._n = 1
            self._level = v
            return 0.0
        seasonal = self._season[pos] if period else 0.0
        level = self._level
        trend = self._trend
        predicted = level + phi * trend + seasonal
        resid = v - predicted
        sigma = max(self._dev * _ABSDEV_TO_SIGMA, 1e-6 * abs(level), 1e-12)
        score = 0.0
        if n >= self.warmup:
            score = surprise(abs(resid) / sigma)
            bound = self.clip * sigma
            if resid > bound:
                resid = bound
            elif resid < -bound:
                resid = -bound
        target = predicted + resid
        a = self.alpha
        new_level = a * (target - seasonal) + (1.0 - a) * (level + phi * trend)
        self._trend = self.beta * (new_level - level) + (1.0 - self.beta) * phi * trend
        self._level = new_level
        if period:
            g = self.gamma
            self._season[pos] = g * (target - new_level) + (1.0 - g) * seasonal
        n += 1
        self._n = n
        sa = self.scale_alpha if n > self.warmup else 1.0 / n
        self._dev += sa * (abs(resid) - self._dev)
        return score
