"""Time to breach: when a metric's trend will cross a threshold, with an 80% range."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats

from failcast.detect.bounds import Bounds

_HOUR_MS = 3_600_000
_MAD_TO_SIGMA = 1.4826
RECENT_MS = 15 * 60_000


@dataclass(frozen=True)
class BreachForecast:
    """Hours until the threshold is crossed: the central estimate and its range."""

    hours: float
    low_hours: float
    high_hours: float | None  # None: the slow end of the range lies beyond the horizon
    threshold: float
    direction: str

    def describe(self, metric: str) -> str:
        """E.g. "memory reaches 95 in ~19 h (80%: 14-26 h)"."""
        verb = "reaches" if self.direction == "above" else "falls to"
        high = f"{self.high_hours:.0f}" if self.high_hours is not None else ">72"
        if self.hours == 0.0:
            return f"{metric} is already past {self.threshold:g}"
        return (
            f"{metric} {verb} {self.threshold:g} in ~{self.hours:.0f} h "
            f"(80%: {self.low_hours:.0f}-{high} h)"
        )


@dataclass(frozen=True, slots=True)
class TrendFit:
    """A robust linear trend in hours from the last timestamp: the level there, the median
    slope and its interval, and the half-width of the residuals' band."""

    level: float
    slope: float
    slope_lo: float
    slope_hi: float
    band: float


def trend_window(
    timestamps_ms: npt.ArrayLike, values: npt.ArrayLike, window_hours: float, min_points: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]] | None:
    """The finite points of the last `window_hours`, or None with fewer than `min_points`."""
    ts = np.asarray(timestamps_ms, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    if ts.shape != y.shape:
        raise ValueError("timestamps and values must have the same length")
    ok = np.isfinite(y) & np.isfinite(ts)
    ts, y = ts[ok], y[ok]
    if len(y) < min_points:
        return None
    keep = ts >= ts[-1] - window_hours * _HOUR_MS
    ts, y = ts[keep], y[keep]
    if len(y) < min_points:
        return None
    return ts, y


def fit_trend(ts: npt.NDArray[np.float64], y: npt.NDArray[np.float64], coverage: float) -> TrendFit:
    """Theil-Sen through the points, the slope's interval and the band at `coverage`."""
    hours = (ts - ts[-1]) / _HOUR_MS
    slope, _, slope_lo, slope_hi = stats.theilslopes(y, hours, alpha=coverage)
    level = float(np.median(y - slope * hours))
    resid = y - (level + slope * hours)
    sigma = _MAD_TO_SIGMA * float(np.median(np.abs(resid - np.median(resid))))
    band = float(stats.norm.ppf(0.5 + coverage / 2.0)) * sigma
    return TrendFit(level, float(slope), float(slope_lo), float(slope_hi), band)


def _crossing(level: float, slope: float, threshold: float) -> float:
    """Hours until `level + slope * h` reaches `threshold` going up (inf if never)."""
    if level >= threshold:
        return 0.0
    if slope <= 0.0:
        return math.inf
    return (threshold - level) / slope


def time_to_breach(
    timestamps_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    threshold: float,
    direction: str = "above",
    horizon_hours: float = 72.0,
    window_hours: float = 72.0,
    coverage: float = 0.8,
    min_points: int = 12,
    bounds: Bounds = (-math.inf, math.inf),
) -> BreachForecast | None:
    """Forecast when `values` will cross `threshold` within `horizon_hours`, or None.

    A robust linear trend (Theil-Sen) is fitted to the last `window_hours` of data. The central
    crossing uses the fitted level at the last timestamp and the median slope. The range widens
    both: the slope's `coverage` confidence interval and the residuals' spread (a band of the
    matching normal quantile), so a noisy metric gets an honest, wide range. Returns None when
    the central crossing lies beyond the horizon or the data are too few, or when the
    threshold lies outside `bounds`, the values the metric can take. A metric whose last few
    values are already past the threshold is reported as past (0 hours).
    """
    if direction not in ("above", "below"):
        raise ValueError("direction must be 'above' or 'below'")
    if not bounds[0] <= threshold <= bounds[1]:
        return None
    window = trend_window(timestamps_ms, values, window_hours, min_points)
    if window is None:
        return None
    ts, y = window
    end = ts[-1]
    sign = 1.0 if direction == "above" else -1.0
    y = sign * y
    limit = sign * threshold
    fit = fit_trend(ts, y, coverage)
    level, band = fit.level, fit.band

    # Already past: the last few values (at least 3, and all of the last 15 minutes) sit
    # past the limit in the middle, whatever the longer trend says.
    recent = y[ts >= end - RECENT_MS]
    if len(recent) < 3:
        recent = y[-3:]
    if float(np.median(recent)) >= limit or (y[-1] >= limit and level >= limit - band):
        return BreachForecast(0.0, 0.0, 0.0, threshold, direction)
    central = _crossing(level, fit.slope, limit)
    if central > horizon_hours:
        return None
    early = _crossing(level + band, fit.slope_hi, limit)
    late = _crossing(level - band, fit.slope_lo, limit)
    return BreachForecast(
        hours=central,
        low_hours=min(early, central),
        high_hours=max(late, central) if late <= horizon_hours else None,
        threshold=threshold,
        direction=direction,
    )
