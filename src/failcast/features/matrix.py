"""One feature matrix from a set of aligned metric series, shared by detection and prediction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from failcast.features._arrays import FloatArray, as_float
from failcast.features.interactions import safe_divide
from failcast.features.missing import gap_indicator, missing_indicator, time_since_valid
from failcast.features.seasonal import seasonal_zscore
from failcast.features.temporal import cyclic, day_of_week, hour_of_day, is_peak, is_weekend
from failcast.features.windows import (
    difference,
    ewma,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_quantile,
    rolling_slope,
    rolling_std,
)

# Windows in points: one hour, six hours and a day at five-minute sampling.
DEFAULT_WINDOWS: tuple[int, ...] = (12, 72, 288)

# (numerator, denominator, feature name) ratios added when both metrics are present.
DEFAULT_RATIOS: tuple[tuple[str, str, str], ...] = (
    ("errors", "requests", "errors_per_request"),
    ("cost", "predictions", "cost_per_prediction"),
)


def metric_features(
    timestamps_ms: npt.ArrayLike, name: str, values: npt.ArrayLike, windows: Sequence[int]
) -> list[tuple[str, FloatArray]]:
    """The per-metric columns of the feature matrix."""
    x = as_float(values)
    cols: list[tuple[str, FloatArray]] = [
        (f"{name}", x),
        (f"{name}__missing", missing_indicator(x)),
        (f"{name}__since_valid_ms", time_since_valid(timestamps_ms, x)),
        (f"{name}__diff1", difference(x, 1)),
        (f"{name}__ewma_0.1", ewma(x, 0.1)),
        (f"{name}__seasonal_z", seasonal_zscore(timestamps_ms, x)),
    ]
    for w in windows:
        cols += [
            (f"{name}__mean_{w}", rolling_mean(x, w)),
            (f"{name}__std_{w}", rolling_std(x, w)),
            (f"{name}__min_{w}", rolling_min(x, w)),
            (f"{name}__max_{w}", rolling_max(x, w)),
            (f"{name}__p90_{w}", rolling_quantile(x, w, 0.9)),
            (f"{name}__slope_{w}", rolling_slope(x, w)),
        ]
    return cols


def build_feature_matrix(
    timestamps: npt.ArrayLike,
    metrics: Mapping[str, npt.ArrayLike],
    windows: Sequence[int] = DEFAULT_WINDOWS,
    ratios: Sequence[tuple[str, str, str]] = DEFAULT_RATIOS,
    utc_offset_minutes: int = 0,
) -> tuple[list[str], FloatArray]:
    """Causal features for every row: (column names, matrix of shape rows x columns).

    `timestamps` are epoch milliseconds, ascending; every metric is aligned with them and may
    contain NaN for missing samples. Metric names are sorted so the column order is stable.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    if ts.ndim != 1:
        raise ValueError("timestamps must be one-dimensional")
    if len(ts) > 1 and np.any(np.diff(ts) < 0):
        raise ValueError("timestamps must be in ascending order")
    for name, values in metrics.items():
        if np.shape(values) != ts.shape:
            raise ValueError(f"metric {name!r} has {np.shape(values)} rows, expected {ts.shape}")

    hour = hour_of_day(ts, utc_offset_minutes)
    dow = day_of_week(ts, utc_offset_minutes)
    hour_sin, hour_cos = cyclic(hour, 24)
    dow_sin, dow_cos = cyclic(dow, 7)
    cols: list[tuple[str, FloatArray]] = [
        ("hour", hour.astype(np.float64)),
        ("weekday", dow.astype(np.float64)),
        ("hour_sin", hour_sin),
        ("hour_cos", hour_cos),
        ("weekday_sin", dow_sin),
        ("weekday_cos", dow_cos),
        ("weekend", is_weekend(ts, utc_offset_minutes)),
        ("peak", is_peak(ts, utc_offset_minutes)),
        ("gap", gap_indicator(ts)),
    ]
    for name in sorted(metrics):
        cols += metric_features(ts, name, metrics[name], windows)
    for num, den, label in ratios:
        if num in metrics and den in metrics:
            cols.append((label, safe_divide(metrics[num], metrics[den])))

    names = [c[0] for c in cols]
    matrix = np.column_stack([c[1] for c in cols]) if len(ts) else np.empty((0, len(cols)))
    return names, matrix
