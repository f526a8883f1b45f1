"""Indicators of missing values and of gaps in the sampling."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from failcast.features._arrays import FloatArray, as_float
from failcast.features.windows import rolling_quantile


def missing_indicator(values: npt.ArrayLike) -> FloatArray:
    """1.0 where the value is missing (NaN or infinite), else 0.0."""
    return np.isnan(as_float(values)).astype(np.float64)


def time_since_valid(timestamps_ms: npt.ArrayLike, values: npt.ArrayLike) -> FloatArray:
    """Milliseconds since the last valid value (0 at a valid point, NaN before the first).

    >>> nan = float("nan")
    >>> time_since_valid([0, 1000, 2000, 3000], [nan, 1.0, nan, nan]).tolist()
    [nan, 0.0, 1000.0, 2000.0]
    """
    x = as_float(values)
    ts = np.asarray(timestamps_ms, dtype=np.float64)
    if ts.shape != x.shape:
        raise ValueError("timestamps and values must have the same length")
    last = np.where(~np.isnan(x), ts, np.nan)
    # Forward-fill the time of the last valid value.
    idx = np.where(~np.isnan(last), np.arange(len(x)), -1)
    idx = np.maximum.accumulate(idx) if len(idx) else idx
    out = np.full(len(x), np.nan)
    seen = idx >= 0
    out[seen] = ts[seen] - ts[idx[seen]]
    return out


def gap_indicator(
    timestamps_ms: npt.ArrayLike, factor: float = 1.5, history: int = 64
) -> FloatArray:
    """1.0 where the step from the previous timestamp exceeds `factor` times the usual step.

    The usual step is the median of the previous `history` steps, so the flag is causal.
    """
    ts = np.asarray(timestamps_ms, dtype=np.float64)
    out = np.zeros(len(ts))
    if len(ts) < 3:
        return out
    steps = np.diff(ts)
    usual = rolling_quantile(steps, history, 0.5, min_periods=1)
    # Compare each step with the median of the steps before it.
    prior = np.concatenate(([np.nan], usual[:-1]))
    out[1:] = np.where(np.isnan(prior), 0.0, (steps > factor * prior).astype(np.float64))
    return out
