"""Streaming anomaly, change and drift detection over plain numbers; no I/O.

Importing the package registers every detector, so `create(name)` and `names()` see them all.
"""

from failcast.detect import (
    anomaly,
    baselines,
    changepoint,
    ensemble,
    forecast,
    likelihood,
    multivariate,
    novelty,
    seasonal,
)
from failcast.detect.base import (
    AnyDetector,
    BaseDetector,
    Detector,
    MultiMetric,
    MultiMetricDetector,
    SingleMetric,
    SingleMetricDetector,
    surprise,
)
from failcast.detect.breach import BreachForecast, time_to_breach
from failcast.detect.drift import DriftResult, DriftThresholds, rank_drift
from failcast.detect.registry import create, names, register, restore
from failcast.detect.threshold import Alarm, Thresholded, quantile_threshold

__all__ = [
    "Alarm",
    "AnyDetector",
    "BaseDetector",
    "BreachForecast",
    "Detector",
    "DriftResult",
    "DriftThresholds",
    "MultiMetric",
    "MultiMetricDetector",
    "SingleMetric",
    "SingleMetricDetector",
    "Thresholded",
    "anomaly",
    "baselines",
    "changepoint",
    "create",
    "ensemble",
    "forecast",
    "likelihood",
    "multivariate",
    "names",
    "novelty",
    "quantile_threshold",
    "rank_drift",
    "register",
    "restore",
    "seasonal",
    "surprise",
    "time_to_breach",
]
