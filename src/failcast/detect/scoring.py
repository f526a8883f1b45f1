"""Scoring a table of values with a named configuration: the one path behind `failcast score`,
`POST /api/v1/detect/score` and the benchmarks."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from failcast.detect.anomaly import _SurpriseBase
from failcast.detect.base import AnyDetector, FloatArray
from failcast.detect.configs import Spec, configuration
from failcast.detect.surprise_core import MISSING, SCORED, STATUSES, Assessments
from failcast.detect.tail import ALARM_THRESHOLD

NO_SCORE = "no_score"


@dataclass(frozen=True)
class MetricStatus:
    """How one column of a table took part: its status at the last row and row counts."""

    metric: str
    status: str
    scored: int
    counts: dict[str, int]


@dataclass(frozen=True)
class Scored:
    """A table's verdicts: per row the anomaly score and level-shift score (NaN when absent),
    the status, and for several metrics the names of the metrics that drive the row."""

    configuration: str
    spec: Spec
    threshold: float
    score: FloatArray
    change: FloatArray
    status: list[str]
    drivers: list[list[str]] = field(default_factory=list)
    metrics: list[MetricStatus] = field(default_factory=list)

    @property
    def alarms(self) -> int:
        """Rows at or above the documented threshold."""
        return int(np.sum(np.nan_to_num(self.score, nan=0.0) >= self.threshold))


def _assess(detector: AnyDetector, values: FloatArray, times: npt.NDArray[np.int64]) -> Assessments:
    rows = values if detector.multivariate else values[:, 0]
    if isinstance(detector, _SurpriseBase):
        return detector.assess_many(rows, times)
    scores = detector.score(rows, times)
    nan = np.full(len(scores), math.nan)
    missing = [bool(np.isnan(row).all()) for row in values]
    status = [
        MISSING if m else SCORED if s == s else NO_SCORE
        for m, s in zip(missing, scores.tolist(), strict=True)
    ]
    return Assessments(score=scores, change=nan, status=status)


def score_table(
    values: npt.ArrayLike,
    times_ms: npt.ArrayLike,
    *,
    detector: str = "default",
    params: dict[str, Any] | None = None,
    metrics: Sequence[str] | None = None,
    train: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
) -> Scored:
    """Score rows of `values` (rows x metrics, NaN = missing) in time order, causally.

    `train` (values, times) is learned first and not scored. Raises ValueError with a message
    for people on unknown detectors, bad parameters or mismatched shapes.
    """
    table = np.asarray(values, dtype=np.float64)
    if table.ndim == 1:
        table = table[:, None]
    if table.ndim != 2 or table.shape[1] == 0:
        raise ValueError(f"expected rows x metrics, got shape {table.shape}")
    times = np.asarray(times_ms, dtype=np.int64)
    if times.shape != (table.shape[0],):
        raise ValueError(f"expected {table.shape[0]} timestamps, got {times.shape[0]}")
    k = table.shape[1]
    names = list(metrics) if metrics is not None else [f"m{j + 1}" for j in range(k)]
    if len(names) != k:
        raise ValueError(f"expected {k} metric names, got {len(names)}")
    config = configuration(detector)
    spec = config.spec(k, params)
    config.check(k, params)
    det = config.build(k, params)
    if train is not None:
        history = np.asarray(train[0], dtype=np.float64)
        if history.ndim == 1:
            history = history[:, None]
        if history.ndim != 2 or history.shape[1] != k:
            raise ValueError(f"training data has {history.shape[-1]} metrics, expected {k}")
        history_times = np.asarray(train[1], dtype=np.int64)
        _assess(det, history, history_times)
    verdicts = _assess(det, table, times)
    drivers: list[list[str]] = []
    per_metric: list[MetricStatus] = []
    if k > 1 and verdicts.metric_status is not None:
        drivers = [[names[j] for j in verdicts.drivers(i)] for i in range(len(table))]
        for j, name in enumerate(names):
            codes = verdicts.metric_status[:, j]
            counts = Counter(STATUSES[int(c)] for c in codes)
            last = STATUSES[int(codes[-1])] if len(codes) else MISSING
            per_metric.append(MetricStatus(name, last, counts.get(SCORED, 0), dict(counts)))
    return Scored(
        configuration=config.name,
        spec=spec,
        threshold=ALARM_THRESHOLD,
        score=verdicts.score,
        change=verdicts.change,
        status=verdicts.status,
        drivers=drivers,
        metrics=per_metric,
    )
