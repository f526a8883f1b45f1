"""Array checks shared by the feature functions."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def as_float(values: npt.ArrayLike) -> FloatArray:
    """A one-dimensional float64 copy-free view of `values`; infinities count as missing."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"expected a one-dimensional series, got shape {arr.shape}")
    if np.isinf(arr).any():
        arr = np.where(np.isinf(arr), np.nan, arr)
    return arr


def check_window(window: int) -> None:
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")


def trailing_sum(values: FloatArray, window: int) -> FloatArray:
    """Sum of the last `window` entries ending at each position (fewer at the start)."""
    csum = np.concatenate(([0.0], np.cumsum(values)))
    n = len(values)
    end = np.arange(1, n + 1)
    start = np.maximum(end - window, 0)
    return csum[end] - csum[start]
