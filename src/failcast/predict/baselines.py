"""Simple forecasts every model is compared with: a static threshold rule, a linear
extrapolation to that threshold (Prometheus' predict_linear), and persistence.

The rules read the same series the model does (a counter as its rate), from the history the
dataset's rows were cut from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from failcast.features import rolling_slope
from failcast.predict.dataset import Dataset, FleetData, prepared
from failcast.predict.labels import FloatArray, IntArray, labels_for_rows

QUANTILE = 0.999  # each side's static limit: the 0.1 % and 99.9 % points of the training data


def _history(ds: Dataset) -> tuple[FleetData, IntArray]:
    if ds.fleet is None or ds.grid is None:
        raise ValueError("the rule baselines need the history the dataset was built from")
    return ds.fleet, ds.grid


@dataclass
class StaticLimits:
    """Per (service, metric): the median and the low and high limits seen in training data."""

    limits: dict[tuple[str, str], tuple[float, float, float]]
    series: dict[tuple[str, str], tuple[FloatArray, FloatArray]]  # values, slope per hour

    @classmethod
    def fit(cls, ds: Dataset, rows: np.ndarray) -> StaticLimits:
        """Limits from the values of every grid point up to the last of `rows` (labels are
        not used)."""
        fleet, grid = _history(ds)
        last = int(grid[rows].max()) if np.any(rows) else -1
        limits: dict[tuple[str, str], tuple[float, float, float]] = {}
        series: dict[tuple[str, str], tuple[FloatArray, FloatArray]] = {}
        for service, data in sorted(fleet.services.items()):
            for metric, raw in sorted(data.metrics.items()):
                values, _ = prepared(fleet.ts_ms, raw, data.role(metric))
                # predict_linear over the last six hours
                slope = rolling_slope(values, fleet.windows.six) * fleet.windows.points_per_hour
                series[(service, metric)] = (values, slope)
                seen = values[: last + 1]
                seen = seen[np.isfinite(seen)]
                if seen.size < 10:
                    continue
                lo, med, hi = np.quantile(seen, [1 - QUANTILE, 0.5, QUANTILE])
                limits[(service, metric)] = (float(lo), float(med), float(hi))
        return cls(limits, series)

    def score(self, ds: Dataset, rows: np.ndarray, ahead_h: float = 0.0) -> FloatArray:
        """Worst exceedance over metrics (>= 1 means past a limit) of each row, optionally of
        the value extrapolated `ahead_h` hours along its six-hour trend."""
        _, grid = _history(ds)
        idx = np.flatnonzero(rows)
        out = np.zeros(len(idx))
        services = np.asarray(ds.services)[idx]
        for (service, metric), (lo, med, hi) in self.limits.items():
            mine = services == service
            if not mine.any():
                continue
            values, slope = self.series[(service, metric)]
            at = grid[idx[mine]]
            value = values[at]
            if ahead_h:
                value = value + np.nan_to_num(slope[at]) * ahead_h
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
