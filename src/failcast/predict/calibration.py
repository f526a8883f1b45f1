"""Probability calibration fitted on a validation split: isotonic or Platt scaling."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from failcast.predict.labels import FloatArray

Method = Literal["isotonic", "platt", "identity"]
# Positive rows come in runs (one incident labels every row of its warning window), so they are
# far fewer independent cases than they look; isotonic steps need many, Platt's two parameters few.
ISOTONIC_MIN_POSITIVES = 2000
_EPS = 1e-6


def logit(p: npt.ArrayLike) -> FloatArray:
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    out: FloatArray = np.log(q / (1.0 - q))
    return out


def sigmoid(z: npt.ArrayLike) -> FloatArray:
    out: FloatArray = 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))
    return out


@dataclass
class Calibrator:
    """A non-decreasing map from raw scores to calibrated probabilities."""

    method: Method = "identity"
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    a: float = 1.0
    b: float = 0.0

    def apply(self, p: npt.ArrayLike) -> FloatArray:
        raw = np.asarray(p, dtype=np.float64)
        if self.method == "isotonic":
            out: FloatArray = np.interp(raw, self.x, self.y)
            return out
        if self.method == "platt":
            return sigmoid(self.a * logit(raw) + self.b)
        return np.clip(raw, 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": self.x, "y": self.y, "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibrator:
        return cls(data["method"], list(data["x"]), list(data["y"]), data["a"], data["b"])


def fit_calibrator(
    p: npt.ArrayLike, y: npt.ArrayLike, method: Method | Literal["auto"] = "auto"
) -> Calibrator:
    """Fit on validation scores `p` and outcomes `y`.

    "auto" picks isotonic with at least `ISOTONIC_MIN_POSITIVES` positives (and as many
    negatives), else Platt; with a single class there is nothing to learn and scores pass through.
    """
    raw = np.asarray(p, dtype=np.float64)
    target = np.asarray(y, dtype=bool)
    positives, negatives = int(target.sum()), int((~target).sum())
    if positives == 0 or negatives == 0:
        return Calibrator("identity")
    if method == "auto":
        enough = min(positives, negatives) >= ISOTONIC_MIN_POSITIVES
        method = "isotonic" if enough else "platt"
    if method == "isotonic":
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip")
        iso.fit(raw, target.astype(np.float64))
        xs = [float(v) for v in iso.X_thresholds_]
        ys = [float(v) for v in iso.y_thresholds_]
        return Calibrator("isotonic", xs, ys)
    if method == "platt":
        model = LogisticRegression(C=1e4, max_iter=1000)
        model.fit(logit(raw)[:, None], target)
        a, b = float(model.coef_[0, 0]), float(model.intercept_[0])
        # A falling slope would invert the ranking; keep the scores' order instead.
        if not (a > 0 and math.isfinite(a) and math.isfinite(b)):
            return Calibrator("identity")
        return Calibrator("platt", a=a, b=b)
    return Calibrator("identity")


def brier(p: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Mean squared error of probabilities against 0/1 outcomes.

    >>> brier([0.9, 0.2], [1, 0])
    0.025
    """
    q = np.asarray(p, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    return float(np.mean((q - t) ** 2)) if q.size else math.nan


def reliability(
    p: npt.ArrayLike, y: npt.ArrayLike, bins: int = 10
) -> list[tuple[float, float, int]]:
    """(mean predicted, observed frequency, count) per equal-width probability bin with data."""
    q = np.asarray(p, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    which = np.minimum((q * bins).astype(np.int64), bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append((float(q[mask].mean()), float(t[mask].mean()), int(mask.sum())))
    return out
