"""Feature contributions turned into statements a person can act on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

POINTS_PER_HOUR = 12  # the prediction grid: five-minute points

_TOPOLOGY = {
    "deps_count": "{v:.0f} dependencies",
    "deps_unhealthy": "{v:.0f} unhealthy dependencies",
    "deps_anomaly_max": "worst dependency anomaly {v:.2f}",
    "deps_anomaly_max_72": "worst dependency anomaly over 6 h {v:.2f}",
    "deps_failing_max": "a dependency failing {v:.1%} of calls or runs",
    "deps_all_anomaly_max": "worst anomaly further down the dependency chain {v:.2f}",
    "detector_max": "anomaly score {v:.2f}",
    "detector_max_72": "highest anomaly score over 6 h {v:.2f}",
    "drift_max": "a metric {v:.1f} sigma from its weekly norm",
    "trend_max": "a metric trending {v:.0%} per day",
    "seasonal_max": "a metric {v:.1f} sigma off its usual level for the hour",
    "limit_hours_min": "a resource limit reached in ~{v:.0f} h at the current trend",
}


@dataclass(frozen=True)
class Factor:
    """One feature's push on the failure log-odds, with a readable statement."""

    feature: str
    metric: str | None
    value: float
    contribution: float
    statement: str


def _hours(points: str) -> str:
    return f"{int(points) / POINTS_PER_HOUR:g} h"


def describe_feature(name: str, value: float) -> str:
    """E.g. ("memory_pct__slope_72", 0.175) -> "memory_pct rising 2.1/h over 6 h"."""
    if not np.isfinite(value):
        return f"{name} missing"
    if name in _TOPOLOGY:
        return _TOPOLOGY[name].format(v=value)
    if name.startswith("kind_"):
        return f"service kind {name[5:]}" if value else f"not a {name[5:]}"
    if name in ("hour_sin", "hour_cos", "weekend"):
        return "time of day or week"
    metric, _, what = name.partition("__")
    if not what:
        return f"{metric} at {value:.3g}"
    kind, _, window = what.rpartition("_")
    if what.startswith("slope_"):
        direction = "rising" if value >= 0 else "falling"
        return f"{metric} {direction} {abs(value) * POINTS_PER_HOUR:.3g}/h over {_hours(window)}"
    if kind in ("mean", "max", "min", "std") and window.isdigit():
        label = {
            "mean": "averaging",
            "max": "peaking at",
            "min": "bottoming at",
            "std": "varying by",
        }
        return f"{metric} {label[kind]} {value:.3g} over {_hours(window)}"
    if what == "dev_week":
        return f"{metric} {value:+.1f} sigma from its weekly norm"
    if what == "trend_day":
        return f"{metric} trending {value:+.1%} per day"
    if what == "seasonal_z":
        return f"{metric} {value:+.1f} sigma off its usual level for the hour"
    if what == "limit_hours":
        return f"{metric} reaches its limit in ~{value:.0f} h at the current trend"
    if what == "detector":
        return f"{metric} anomaly score {value:.2f}"
    if what == "ewma":
        return f"{metric} smoothed at {value:.3g}"
    return f"{name} = {value:.3g}"


def top_factors(
    names: Sequence[str], values: npt.ArrayLike, contributions: npt.ArrayLike, k: int = 5
) -> list[Factor]:
    """The `k` features with the largest contributions (bias column excluded), strongest first."""
    row = np.asarray(values, dtype=np.float64)
    contrib = np.asarray(contributions, dtype=np.float64)[: len(names)]
    order = np.argsort(-np.abs(contrib), kind="stable")[:k]
    out = []
    for j in order.tolist():
        c = float(contrib[j])
        if c == 0.0:
            continue
        name = names[j]
        metric = name.partition("__")[0] if "__" in name else None
        statement = f"{describe_feature(name, float(row[j]))}: {c:+.2f}"
        out.append(Factor(name, metric, float(row[j]), c, statement))
    return out
