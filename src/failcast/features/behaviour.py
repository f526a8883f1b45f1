"""What a series does, measured against its own history and free of its units.

Every feature here is unchanged when a series is multiplied by a positive constant (seconds
or milliseconds, bytes or gibibytes, a ratio or a percentage with its limit), so a model that
learns from them learns behaviour, not names or scales. Features are oriented so that a larger
value is worse: `direction` +1 when rising is bad, -1 when falling is bad, 0 when either is (the
magnitude is used). Each value uses only data up to its own time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.ndimage import maximum_filter1d, minimum_filter1d

from failcast.features._arrays import FloatArray, as_float, trailing_sum
from failcast.features.seasonal import seasonal_zscore
from failcast.features.windows import rolling_mean, rolling_slope, rolling_std

BEHAVIOUR: tuple[str, ...] = (
    "level",
    "shift",
    "trend",
    "trend_day",
    "volatility",
    "seasonal",
    "creep",
    "used",
    "headroom_h",
    "missing",
    "restarts",
)
HEADROOM_CAP_H = 240.0  # hours to a limit beyond this read as "not on course"
HOUR_MS = 3_600_000
_TINY = 1e-12


@dataclass(frozen=True, slots=True)
class Windows:
    """Trailing windows in points of a grid: an hour, six hours, a day and a week, each at
    least a few points on a coarse grid (on a daily grid "an hour" is the last point)."""

    hour: int
    six: int
    day: int
    week: int
    points_per_hour: float

    @classmethod
    def for_step(cls, step_ms: int) -> Windows:
        if step_ms <= 0:
            raise ValueError(f"the grid step must be positive, got {step_ms} ms")

        def points(hours: float, least: int) -> int:
            return max(least, round(hours * HOUR_MS / step_ms))

        return cls(points(1, 1), points(6, 2), points(24, 3), points(168, 7), HOUR_MS / step_ms)


def _orient(values: FloatArray, direction: int) -> FloatArray:
    out: FloatArray = values * direction if direction else np.abs(values)
    return out


def trailing_extreme(values: FloatArray, window: int, *, highest: bool) -> FloatArray:
    """Maximum (or minimum) of the last `window` values; NaN where none was valid."""
    x = np.asarray(values, dtype=np.float64)
    if len(x) == 0:
        return x.copy()
    fill = -np.inf if highest else np.inf
    filled = np.where(np.isnan(x), fill, x)
    # A right-shifted origin turns the centred filter into a trailing one.
    extreme = maximum_filter1d if highest else minimum_filter1d
    out = extreme(filled, size=window, mode="nearest", origin=(window - 1) // 2)
    result: FloatArray = np.where(np.isinf(out), np.nan, out)
    return result


def lagged(values: FloatArray, lag: int) -> FloatArray:
    """`values` shifted `lag` points later (NaN for the first `lag`)."""
    out = np.full(len(values), np.nan)
    if lag < len(values):
        out[lag:] = values[: len(values) - lag]
    return out


def counter_rate(
    timestamps_ms: npt.ArrayLike, values: npt.ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """A cumulative counter as a per-second rate, and 1.0 where it restarted (went down).

    The rate at a point is its increase since the last valid point over the time between
    them; after a restart the counter began again from zero, so its value is the increase.
    """
    x = as_float(values)
    ts = np.asarray(timestamps_ms, dtype=np.float64)
    n = len(x)
    rate = np.full(n, np.nan)
    restart = np.zeros(n)
    valid = np.flatnonzero(~np.isnan(x))
    if valid.size < 2:
        return rate, restart
    now, before = valid[1:], valid[:-1]
    increase = x[now] - x[before]
    reset = increase < 0
    increase = np.where(reset, x[now], increase)
    seconds = (ts[now] - ts[before]) / 1000.0
    with np.errstate(invalid="ignore", divide="ignore"):
        rate[now] = np.where(seconds > 0, increase / seconds, np.nan)
    restart[now] = reset.astype(np.float64)
    return rate, restart


def hours_to(
    level: FloatArray, change_per_hour: FloatArray, limit: FloatArray | float, direction: int
) -> FloatArray:
    """Hours until a linear trend takes `level` to `limit` in the bad `direction` (+1 up,
    -1 down), 0 once past it, capped at `HEADROOM_CAP_H`."""
    toward = change_per_hour * direction
    gap = (np.asarray(limit, dtype=np.float64) - level) * direction
    with np.errstate(invalid="ignore", divide="ignore"):
        hours = np.where(toward > 0, gap / toward, HEADROOM_CAP_H)
    # Past the limit reads 0; exactly at it (a flat series at its own record) is not on course.
    hours = np.where(gap < 0, 0.0, hours)
    hours = np.clip(hours, 0.0, HEADROOM_CAP_H)
    out: FloatArray = np.where(
        np.isnan(level) | np.isnan(change_per_hour) | np.isnan(gap), np.nan, hours
    )
    return out


def behaviour(
    timestamps_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    *,
    direction: int = 0,
    limit: float | None = None,
    restarts: npt.ArrayLike | None = None,
    step_ms: int = 300_000,
) -> dict[str, FloatArray]:
    """The `BEHAVIOUR` features of one series (a gauge, or a counter already turned into a rate).

    - level: the last hour against the last week, in the week's spreads;
    - shift: the last hour against the last day, in the day's spreads;
    - trend: the change over the last six hours along their slope, in the week's spreads;
    - trend_day: the change over the last day along its slope, as a share of the weekly level;
    - volatility: log of the last six hours' spread over the week's;
    - seasonal: the value against earlier values of the same hour of the day (robust z);
    - creep: the last day against the quietest (or, when falling is bad, the best) day of the
      week, as a share of that day's level: slow leaks that a week's mean follows;
    - used: share of the known `limit` in use (NaN without one);
    - headroom_h: hours until the six-hour trend reaches the known limit, or else the worst
      hourly level of the week before yesterday (a learnt limit);
    - missing: share of the last hour's points that are missing;
    - restarts: counter restarts over the last six hours (from `restarts`, else 0).
    """
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    x = as_float(values)
    w = Windows.for_step(step_ms)
    hour, six, day, week = w.hour, w.six, w.day, w.week
    mean_hour = rolling_mean(x, hour)
    mean_day = rolling_mean(x, day)
    std_day = rolling_std(x, day)
    std_six = rolling_std(x, six)
    week_mean = rolling_mean(x, week, min_periods=day)
    week_std = rolling_std(x, week, min_periods=day)
    magnitude = np.abs(week_mean)
    scale = np.maximum(np.maximum(week_std, 1e-3 * magnitude), _TINY)
    slope_six = rolling_slope(x, six)
    slope_day = rolling_slope(x, day)
    per_hour = slope_six * w.points_per_hour
    with np.errstate(invalid="ignore", divide="ignore"):
        level = (mean_hour - week_mean) / scale
        shift = (mean_hour - mean_day) / np.maximum(
            np.maximum(std_day, 1e-3 * np.abs(mean_day)), _TINY
        )
        trend = slope_six * six / scale
        trend_day = slope_day * day / np.maximum(np.maximum(magnitude, week_std), _TINY)
        volatility = np.log(np.maximum(std_six, _TINY) / scale)
    seasonal = seasonal_zscore(ts, x, season="hour_of_day")
    quiet = trailing_extreme(mean_day, week, highest=direction < 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        creep = (mean_day - quiet) / np.maximum(np.maximum(np.abs(quiet), week_std), _TINY)
    if direction == 0:
        creep = np.abs(creep)
    elif direction < 0:
        creep = -creep
    cols: dict[str, FloatArray] = {
        "level": _orient(level, direction),
        "shift": _orient(shift, direction),
        "trend": _orient(trend, direction),
        "trend_day": _orient(trend_day, direction),
        "volatility": np.clip(volatility, -10.0, 10.0),
        "seasonal": _orient(seasonal, direction),
        "creep": creep,
    }
    if limit is not None and limit != 0:
        cols["used"] = mean_hour / limit
        cols["headroom_h"] = hours_to(mean_hour, per_hour, limit, 1 if direction >= 0 else -1)
    else:
        cols["used"] = np.full(len(x), np.nan)
        sides = [1, -1] if direction == 0 else [direction]
        found = []
        for side in sides:
            worst = lagged(trailing_extreme(mean_hour, week, highest=side > 0), day)
            found.append(hours_to(mean_hour, per_hour, worst, side))
        cols["headroom_h"] = np.fmin.reduce(found) if len(found) > 1 else found[0]
    missing = trailing_sum(np.isnan(x).astype(np.float64), hour)
    cols["missing"] = missing / np.minimum(np.arange(1, len(x) + 1), hour)
    resets = np.zeros(len(x)) if restarts is None else np.nan_to_num(as_float(restarts))
    cols["restarts"] = trailing_sum(resets, six)
    return cols
