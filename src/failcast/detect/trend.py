"""A metric's forecast path: the robust linear trend `time_to_breach` extrapolates, drawn
forward with its 80% band, for charts beside the time to breach."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from failcast.detect.bounds import Bounds, clamp
from failcast.detect.breach import fit_trend, trend_window

_HOUR_MS = 3_600_000


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
    window = trend_window(timestamps_ms, values, window_hours, min_points)
    if window is None:
        return []
    ts, y = window
    end = ts[-1]
    fit = fit_trend(ts, y, coverage)
    level, band = fit.level, fit.band
    ahead = np.linspace(0.0, horizon_hours, steps + 1)
    return [
        PathPoint(
            ts=int(end + h * _HOUR_MS),
            value=clamp(float(level + fit.slope * h), bounds),
            low=clamp(float(level - band + fit.slope_lo * h), bounds),
            high=clamp(float(level + band + fit.slope_hi * h), bounds),
        )
        for h in ahead.tolist()
    ]
