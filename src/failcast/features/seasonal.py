"""Z-scores against the history of the same hour of the day or of the week."""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from failcast.features._arrays import FloatArray, IntArray, as_float
from failcast.features.temporal import hour_of_day, hour_of_week

Season = Literal["hour_of_day", "hour_of_week"]

# A normal distribution's MAD is 0.6745 sigma; this turns a MAD into a sigma estimate.
MAD_TO_SIGMA = 1.4826


def season_index(timestamps_ms: npt.ArrayLike, season: Season) -> IntArray:
    """Bucket of each timestamp: hour of the day (0..23) or of the week (0..167)."""
    if season == "hour_of_day":
        return hour_of_day(timestamps_ms)
    if season == "hour_of_week":
        return hour_of_week(timestamps_ms)
    raise ValueError(f"unknown season {season!r}; use 'hour_of_day' or 'hour_of_week'")


def _row_nanmedian(rows: FloatArray) -> FloatArray:
    """`np.nanmedian(rows, axis=1)` for rows holding at least one valid value, without its
    overhead on many short rows (NaN sorts last, so a row's k valid values come first)."""
    ordered = np.sort(rows, axis=1)
    k = (~np.isnan(ordered)).sum(axis=1)
    idx = np.arange(len(ordered))
    out: FloatArray = (ordered[idx, (k - 1) // 2] + ordered[idx, k // 2]) / 2.0
    return out


def seasonal_zscore(
    timestamps_ms: npt.ArrayLike,
    values: npt.ArrayLike,
    season: Season = "hour_of_week",
    history: int = 8,
    min_history: int = 3,
    min_scale: float = 1e-9,
) -> FloatArray:
    """Robust z-score of each value against the earlier values of the same seasonal bucket.

    The baseline is the median of the last `history` valid values in the bucket (strictly
    earlier than the current point) and the scale is their MAD in sigma units, floored by
    `min_scale` and by 1% of the median's magnitude so a perfectly regular history does not
    turn tiny changes into huge scores.
    """
    if min_history < 1 or history < min_history:
        raise ValueError("need 1 <= min_history <= history")
    x = as_float(values)
    ts = np.asarray(timestamps_ms, dtype=np.int64)
    if ts.shape != x.shape:
        raise ValueError("timestamps and values must have the same length")
    out = np.full(len(x), np.nan)
    buckets = season_index(ts, season)
    valid = ~np.isnan(x)
    for bucket in np.unique(buckets[valid]):
        rows = np.nonzero((buckets == bucket) & valid)[0]
        vals = x[rows]
        if len(vals) <= min_history:
            continue
        # Window j holds the `history` values before position j + history (NaN-padded).
        padded = np.concatenate((np.full(history, np.nan), vals[:-1]))
        view = sliding_window_view(padded, history)
        count = history - np.isnan(view).sum(axis=1)
        usable = count >= min_history
        if not usable.any():
            continue
        med = _row_nanmedian(view[usable])
        mad = _row_nanmedian(np.abs(view[usable] - med[:, None])) * MAD_TO_SIGMA
        scale = np.maximum(np.maximum(mad, 0.01 * np.abs(med)), min_scale)
        out[rows[usable]] = (vals[usable] - med) / scale
    return out
