"""Causal feature functions over plain numpy arrays: windows, trends, calendar, ratios, gaps."""

from failcast.features.interactions import cost_per_prediction, errors_per_request, safe_divide
from failcast.features.matrix import build_feature_matrix
from failcast.features.missing import gap_indicator, missing_indicator, time_since_valid
from failcast.features.seasonal import seasonal_zscore
from failcast.features.temporal import day_of_week, hour_of_day, hour_of_week, is_peak, is_weekend
from failcast.features.windows import (
    difference,
    ewma,
    rate_of_change,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_quantile,
    rolling_slope,
    rolling_std,
)

__all__ = [
    "build_feature_matrix",
    "cost_per_prediction",
    "day_of_week",
    "difference",
    "errors_per_request",
    "ewma",
    "gap_indicator",
    "hour_of_day",
    "hour_of_week",
    "is_peak",
    "is_weekend",
    "missing_indicator",
    "rate_of_change",
    "rolling_max",
    "rolling_mean",
    "rolling_min",
    "rolling_quantile",
    "rolling_slope",
    "rolling_std",
    "safe_divide",
    "seasonal_zscore",
    "time_since_valid",
]
