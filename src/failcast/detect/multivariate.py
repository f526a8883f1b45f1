"""Multivariate detector: online Mahalanobis distance over a vector of metrics."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from failcast.detect.base import FloatArray, MultiMetricDetector, State, Vector, one_sided_surprise
from failcast.detect.registry import register


@register
class Mahalanobis(MultiMetricDetector):
    """How unusual the whole metric vector is, given the correlations seen so far.

    An exponentially weighted mean and covariance are kept online. The squared Mahalanobis
    distance of a vector with k metrics follows a chi-square law with k degrees of freedom; its
    Wilson-Hilferty normal approximation gives a z-score, reported through `one_sided_surprise`.
    Outlying vectors are down-weighted (Huber-style) when learned. Missing metrics take the
    current mean, i.e. they add no evidence.
    """

    name = "mahalanobis"

    def __init__(self, alpha: float = 0.01, ridge: float = 1e-6, warmup: int = 30) -> None:
        if not 0.0 < alpha < 1.0:
            raise ValueError("alpha must be within (0, 1)")
        self.alpha = alpha
        self.ridge = ridge
        self.warmup = warmup
        self._n = 0
        self._mean: FloatArray = np.zeros(0)
        self._cov: FloatArray = np.zeros((0, 0))

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "ridge": self.ridge, "warmup": self.warmup}

    def _get_state(self) -> State:
        return {"n": self._n, "mean": self._mean.tolist(), "cov": self._cov.tolist()}

    def _set_state(self, state: State) -> None:
        self._n = int(state["n"])
        self._mean = np.asarray(state["mean"], dtype=np.float64)
        k = len(self._mean)
        self._cov = np.asarray(state["cov"], dtype=np.float64).reshape(k, k)

    def _vector(self, x: Vector) -> FloatArray:
        v = np.asarray(x, dtype=np.float64).ravel()
        if self._n and len(v) != len(self._mean):
            raise ValueError(f"expected {len(self._mean)} metrics, got {len(v)}")
        return v

    def _distance(self, r: FloatArray) -> float:
        k = len(r)
        scale = np.diag(self._cov)
        # A ridge relative to each metric's own variance keeps constant metrics invertible.
        reg = self._cov + np.diag(self.ridge * (scale + 1e-12))
        try:
            sol = np.linalg.solve(reg, r)
        except np.linalg.LinAlgError:
            sol = np.linalg.lstsq(reg, r, rcond=None)[0]
        d2 = float(r @ sol)
        return float(max(d2, 0.0)) if k else 0.0

    @staticmethod
    def _z(d2: float, k: int) -> float:
        c = 2.0 / (9.0 * k)
        return float((d2 / k) ** (1.0 / 3.0) - (1.0 - c)) / math.sqrt(c)

    def _residual(self, v: FloatArray) -> tuple[FloatArray, bool]:
        missing = np.isnan(v)
        if missing.all():
            return np.zeros_like(v), False
        return np.where(missing, 0.0, v - self._mean), True

    def score_one(self, x: Vector, t: int | None = None) -> float:
        v = self._vector(x)
        if self._n < self.warmup:
            return 0.0
        r, ok = self._residual(v)
        if not ok:
            return 0.0
        return one_sided_surprise(self._z(self._distance(r), len(r)))

    def update(self, x: Vector, t: int | None = None) -> float:
        v = self._vector(x)
        if self._n == 0:
            if np.isnan(v).any():
                return 0.0
            self._mean = v.copy()
            self._cov = np.zeros((len(v), len(v)))
            self._n = 1
            return 0.0
        r, ok = self._residual(v)
        if not ok:
            return 0.0
        k = len(r)
        score = 0.0
        weight = 1.0
        if self._n >= self.warmup:
            d2 = self._distance(r)
            score = one_sided_surprise(self._z(d2, k))
            limit = k + 3.0 * math.sqrt(2.0 * k)
            if d2 > limit:
                weight = math.sqrt(limit / d2)
        self._n += 1
        a = max(self.alpha, 1.0 / self._n)
        step = r * weight
        self._mean = self._mean + a * step
        self._cov = (1.0 - a) * (self._cov + a * np.outer(step, step))
        return score
