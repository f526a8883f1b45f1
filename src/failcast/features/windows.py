"""Trailing-window statistics, trends and smoothing; each value uses only data up to its time."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from failcast.features._arrays import FloatArray, as_float, check_window, trailing_sum


def _counts_and_sums(x: FloatArray, window: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    valid = ~np.isnan(x)
    filled = np.where(valid, x, 0.0)
    count = trailing_sum(valid.astype(np.float64), window)
    total = trailing_sum(filled, window)
    return count, total, filled


def _min_periods(window: int, min_periods: int | None) -> int:
    return max(1, window // 2) if min_periods is None else max(1, min_periods)


def rolling_mean(values: npt.ArrayLike, window: int, min_periods: int | None = None) -> FloatArray:
    """Mean of the last `window` valid points; NaN until `min_periods` points were seen.

    >>> rolling_mean([1.0, 2.0, float("nan"), 4.0], window=2).tolist()
    [1.0, 1.5, 2.0, 4.0]
    """
    x = as_float(values)
    check_window(window)
    count, total, _ = _counts_and_sums(x, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / count
    out[count < _min_periods(window, min_periods)] = np.nan
    return out


def rolling_std(values: npt.ArrayLike, window: int, min_periods: int | None = None) -> FloatArray:
    """Sample standard deviation of the last `window` valid points."""
    x = as_float(values)
    check_window(window)
    count = _valid_count(x, window)
    # Centre on the first valid value so the sum of squares does not cancel catastrophically
    # on a large offset; a later value (a global mean) would let the future move the last bits.
    finite = np.flatnonzero(np.isfinite(x))
    centre = float(x[finite[0]]) if finite.size else 0.0
    shifted = np.where(np.isnan(x), 0.0, x - centre)
    s1 = trailing_sum(shifted, window)
    s2 = trailing_sum(shifted * shifted, window)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = (s2 - s1 * s1 / count) / (count - 1)
    out = np.sqrt(np.maximum(var, 0.0))
    out[count < max(2, _min_periods(window, min_periods))] = np.nan
    return out


def _window_view(x: FloatArray, window: int, fill: float) -> FloatArray:
    padded = np.concatenate((np.full(window - 1, np.nan), x))
    padded = np.where(np.isnan(padded), fill, padded)
    return sliding_window_view(padded, window)


def _valid_count(x: FloatArray, window: int) -> FloatArray:
    return trailing_sum((~np.isnan(x)).astype(np.float64), window)


def rolling_min(values: npt.ArrayLike, window: int, min_periods: int | None = None) -> FloatArray:
    """Minimum of the last `window` valid points."""
    x = as_float(values)
    check_window(window)
    out = _window_view(x, window, np.inf).min(axis=1) if len(x) else x.copy()
    out = np.asarray(out, dtype=np.float64)
    out[_valid_count(x, window) < _min_periods(window, min_periods)] = np.nan
    return out


def rolling_max(values: npt.ArrayLike, window: int, min_periods: int | None = None) -> FloatArray:
    """Maximum of the last `window` valid points."""
    x = as_float(values)
    check_window(window)
    out = _window_view(x, window, -np.inf).max(axis=1) if len(x) else x.copy()
    out = np.asarray(out, dtype=np.float64)
    out[_valid_count(x, window) < _min_periods(window, min_periods)] = np.nan
    return out


def rolling_quantile(
    values: npt.ArrayLike, window: int, q: float, min_periods: int | None = None
) -> FloatArray:
    """Quantile `q` (0..1, linear interpolation) of the last `window` valid points."""
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"q must be within [0, 1], got {q}")
    x = as_float(values)
    check_window(window)
    count = _valid_count(x, window)
    if len(x) == 0:
        return x.copy()
    # NaN sorts last, so the k valid points of each window are its first k sorted entries.
    view = np.sort(_window_view(x, window, np.nan), axis=1)
    k = count.astype(np.int64)
    pos = q * np.maximum(k - 1, 0)
    lo = np.floor(pos).astype(np.int64)
    hi = np.minimum(lo + 1, np.maximum(k - 1, 0))
    rows = np.arange(len(x))
    frac = pos - lo
    out = view[rows, lo] * (1.0 - frac) + view[rows, hi] * frac
    out = np.where(frac == 0.0, view[rows, lo], out)
    out[count < _min_periods(window, min_periods)] = np.nan
    return np.asarray(out, dtype=np.float64)


def rolling_slope(values: npt.ArrayLike, window: int, min_periods: int | None = None) -> FloatArray:
    """Least-squares slope (units per point) over the last `window` valid points."""
    x = as_float(values)
    check_window(window)
    valid = ~np.isnan(x)
    # Positions relative to the series start keep the sums small enough for float64.
    idx = np.arange(len(x), dtype=np.float64)
    v = valid.astype(np.float64)
    y = np.where(valid, x, 0.0)
    s0 = trailing_sum(v, window)
    s1 = trailing_sum(idx * v, window)
    s2 = trailing_sum(idx * idx * v, window)
    sy = trailing_sum(y, window)
    sxy = trailing_sum(idx * y, window)
    denom = s0 * s2 - s1 * s1
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (s0 * sxy - s1 * sy) / denom
    out[(s0 < max(2, _min_periods(window, min_periods))) | (np.abs(denom) < 1e-12)] = np.nan
    return out


def difference(values: npt.ArrayLike, lag: int = 1) -> FloatArray:
    """x[t] - x[t - lag]; NaN where either side is missing."""
    x = as_float(values)
    check_window(lag)
    out = np.full(len(x), np.nan)
    out[lag:] = x[lag:] - x[:-lag]
    return out


def rate_of_change(values: npt.ArrayLike, lag: int = 1) -> FloatArray:
    """Relative change (x[t] - x[t - lag]) / |x[t - lag]|; NaN where the base is zero or missing.

    >>> rate_of_change([100.0, 110.0, 0.0, 5.0]).tolist()
    [nan, 0.1, -1.0, nan]
    """
    x = as_float(values)
    check_window(lag)
    out = np.full(len(x), np.nan)
    base = x[:-lag]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (x[lag:] - base) / np.abs(base)
    out[lag:] = np.where(base == 0.0, np.nan, ratio)
    return out


def ewma(values: npt.ArrayLike, alpha: float) -> FloatArray:
    """Exponentially weighted moving average; missing points leave it unchanged.

    >>> ewma([10.0, float("nan"), 20.0], alpha=0.5).tolist()
    [10.0, 10.0, 15.0]
    """
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"alpha must be within (0, 1], got {alpha}")
    x = as_float(values)
    out = np.empty(len(x))
    level = math.nan
    keep = 1.0 - alpha
    for i, v in enumerate(x.tolist()):
        if v == v:  # not NaN
            level = v if level != level else keep * level + alpha * v
        out[i] = level
    return out
