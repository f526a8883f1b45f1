"""Simple forecasts every model is compared with: a static threshold rule, a linear
extrapolation to that threshold (Prometheus' predict_linear), and persistence."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from failcast.predict.dataset import (
    CALENDAR_COLUMNS,
    POINTS_PER_HOUR,
    SERVICE_COLUMNS,
    TOPOLOGY_COLUMNS,
    Dataset,
)
from failcast.predict.labels import FloatArray, labels_for_rows

QUANTILE = 0.999  # each side's static limit: the 0.1 % and 99.9 % points of the training data
TREND_COLUMN = "slope_72"  # predict_linear over the last six hours


def metric_names(names: Sequence[str]) -> list[str]:
    fixed = {*CALENDAR_COLUMNS, *SERVICE_COLUMNS, *TOPOLOGY_COLUMNS}
    return [n for n in names if "__" not in n and n not in fixed]


@dataclass
class StaticLimits:
    """Per (service, metric): the median and the low and high limits seen in training data."""

    limits: dict[tuple[str, str], tuple[float, float, float]]

    @classmethod
    def fit(cls, ds: Dataset, rows: np.ndarray) -> StaticLimits:
        """Limits from the values of `rows` (labels are not used)."""
        limits: dict[tuple[str, str], tuple[float, float, float]] = {}
        services = np.asarray(ds.services)
        for metric in metric_names(ds.names):
            j = ds.names.index(metric)
            for service in sorted(set(ds.services)):
                values = ds.X[rows & (services == service), j]
                values = values[np.isfinite(values)]
                if values.size < 10:
                    continue
                lo, med, hi = np.quantile(values, [1 - QUANTILE, 0.5, QUANTILE])
                limits[(service, metric)] = (float(lo), float(med), float(hi))
        return cls(limits)

    def score(self, ds: Dataset, rows: np.ndarray, ahead_h: float = 0.0) -> FloatArray:
        """Worst exceedance over metrics (>= 1 means past a limit) of each row, optionally of
        the value extrapolated `ahead_h` hours along its six-hour trend."""
        idx = np.flatnonzero(rows)
        out = np.zeros(len(idx))
        services = np.asarray(ds.services)[idx]
        for (service, metric), (lo, med, hi) in self.limits.items():
            mine = services == service
            if not mine.any():
                continue
            value = ds.X[idx[mine], ds.names.index(metric)]
            if ahead_h:
                slope = ds.X[idx[mine], ds.names.index(f"{metric}__{TREND_COLUMN}")]
                value = value + np.nan_to_num(slope) * POINTS_PER_HOUR * ahead_h
            with np.errstate(invalid="ignore", divide="ignore"):
                up = (value - med) / max(hi - med, 1e-12)
                down = (med - value) / max(med - lo, 1e-12)
            worst = np.nan_to_num(np.maximum(up, down), nan=0.0)
            out[mine] = np.maximum(out[mine], worst)
        return out


def persistence(ds: Dataset, rows: np.ndarray, horizon_h: float) -> FloatArray:
    """1 where the service had an incident start within the last `horizon_h` hours, else 0."""
    idx = np.flatnonzero(rows)
    shifted = ds.ts_ms[idx] - round(horizon_h * 3_600_000)
    services = [ds.services[i] for i in idx.tolist()]
    return labels_for_rows(shifted, services, ds.incidents, horizon_h).astype(np.float64)
