"""A metric's forecast path: the robust linear trend `time_to_breach` extrapolates, drawn
forward with its 80% band, for charts beside the time to breach."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from failcast.detect.bounds import Bounds, clamp

_HOUR_MS = 3_600_000
_MAD_TO_SIGMA = 1.4826  # as in breach.py: the fit must be the one time_to_breach uses


@dataclass(frozen=True, slots=True)
class PathPoint:
    ts: int
    value: float
    low: float
    high: float


def forecast_path(
    timestamps_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    horizon_hours: float = 72.0,
    window_hours: float = 72.0,
    steps: int = 36,
    coverage: float = 0.8,
    min_points: int = 12,
    bounds: Bounds = (-math.inf, math.inf),
) -> list[PathPoint]:
    """`steps` points from the last timestamp to `horizon_hours` ahead, or [] with too few data.

    The same fit as `time_to_breach`: Theil-Sen over the last `window_hours`, level at the
    last timestamp; the band widens with the slope's `coverage` interval and the residual spread.
    Every value stays within `bounds`, the values the metric can take.
    """
    ts = np.asarray(timestamps_ms, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if ts.shape != y.shape:
        raise ValueError("timestamps and values must have the same length")
    ok = np.isfinite(ts) & np.isfinite(y)
    ts, y = ts[ok], y[ok]
    if len(y) < min_points:
        return []
    end = ts[-1]
    keep = ts >= end - window_hours * _HOUR_MS
    ts, y = ts[keep], y[keep]
    if len(y) < min_points:
        return []
    hours = (ts - end) / _HOUR_MS
    slope, _, slope_lo, slope_hi = stats.theilslopes(y, hours, alpha=coverage)
    level = float(np.median(y - slope * hours))
    resid = y - (level + slope * hours)
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(resid - np.median(resid))))
    band = float(stats.norm.ppf(0.5 + coverage / 2.0)) * sigma
    ahead = np.linspace(0.0, horizon_hours, steps + 1)
    return [
        PathPoint(
            ts=int(end + h * _HOUR_MS),
            value=clamp(float(level + slope * h), bounds),
            low=clamp(float(level - band + slope_lo * h), bounds),
            high=clamp(float(level + band + slope_hi * h), bounds),
        )
        for h in ahead.tolist()
    ]
