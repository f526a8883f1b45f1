"""Ratios between metrics, with division that never raises or yields infinities."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from failcast.features._arrays import FloatArray, as_float


def safe_divide(
    numerator: npt.ArrayLike, denominator: npt.ArrayLike, default: float = np.nan
) -> FloatArray:
    """numerator / denominator, with `default` where the denominator is 0 or either is missing."""
    num = as_float(numerator)
    den = as_float(denominator)
    if num.shape != den.shape:
        raise ValueError(f"shapes differ: {num.shape} and {den.shape}")
    ok = (den != 0.0) & ~np.isnan(den) & ~np.isnan(num)
    out = np.full(len(num), default, dtype=np.float64)
    np.divide(num, den, out=out, where=ok)
    return out


def errors_per_request(errors: npt.ArrayLike, requests: npt.ArrayLike) -> FloatArray:
    """Error rate; 0 when there were no requests and no errors, NaN when there were no requests."""
    err = as_float(errors)
    out = safe_divide(err, requests)
    return np.where(np.isnan(out) & (err == 0.0), 0.0, out)


def cost_per_prediction(cost: npt.ArrayLike, predictions: npt.ArrayLike) -> FloatArray:
    """Serving cost per prediction; NaN when nothing was predicted."""
    return safe_divide(cost, predictions)
