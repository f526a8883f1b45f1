"""Feature contributions turned into statements a person can act on."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

# Counts, as (one, many): "1 dependency", "2 dependencies", "no dependencies".
_COUNTS = {
    "deps_count": ("dependency", "dependencies"),
    "deps_unhealthy": ("unhealthy dependency", "unhealthy dependencies"),
}
_SERVICE = {
    "deps_anomaly_max": "worst dependency anomaly {v:.2f}",
    "deps_anomaly_max_6h": "worst dependency anomaly over 6 h {v:.2f}",
    "deps_failing_max": "a dependency's errors {v:.1f} sigma above their weekly norm",
    "deps_all_anomaly_max": "worst anomaly further down the dependency chain {v:.2f}",
    "anomaly_max_6h": "highest anomaly score over 6 h {v:.2f}",
    "metrics": "{v:.0f} metrics reported",
}
# How each behaviour feature reads; {s} is the metric (or group of metrics), {v} the value.
_BEHAVIOUR = {
    "level": "{s} {v:.1f} sigma worse than the weekly norm",
    "shift": "{s} {v:.1f} sigma worse than over the last day",
    "trend": "{s} worsening by {v:.1f} sigma over 6 h",
    "trend_day": "{s} worsening {v:+.0%} per day",
    "volatility": "{s} varying {x:.1f}x the usual spread",
    "seasonal": "{s} {v:.1f} sigma worse than usual for the hour",
    "creep": "{s} {v:+.0%} beyond the quietest day of the week",
    "used": "{s} at {v:.0%} of the limit",
    "headroom_h": "{s} reaches the limit in ~{v:.0f} h at the current trend",
    "missing": "{s} missing {v:.0%} of the last hour",
    "restarts": "{s} restarted {v:.0f} times in 6 h",
    "anomaly": "{s} anomaly score {v:.2f}",
    "change": "{s} level-shift score {v:.2f}",
}


@dataclass(frozen=True)
class Factor:
    """One feature's push on the failure log-odds, with a readable statement."""

    feature: str
    metric: str | None
    value: float
    contribution: float
    statement: str


def describe_feature(name: str, value: float, metric: str | None = None) -> str:
    """E.g. ("memory__trend", 2.5, "memory_pct") -> "memory_pct worsening by 2.5 sigma over 6 h".

    `metric` names the series behind a role or "any" summary, when known.

    >>> describe_feature("memory__trend", 2.5, "memory_pct")
    'memory_pct worsening by 2.5 sigma over 6 h'
    >>> describe_feature("memory__trend", float("nan"), "memory_pct")
    'memory_pct missing'
    """
    if not np.isfinite(value):
        return f"{metric or name} missing"
    if name in _COUNTS:
        one, many = _COUNTS[name]
        count = round(value)
        return f"{count} {one}" if count == 1 else f"{count or 'no'} {many}"
    if name in _SERVICE:
        return _SERVICE[name].format(v=value)
    if name.startswith("kind_"):
        return f"service kind {name[5:]}" if value else f"not a {name[5:]}"
    if name in ("hour_sin", "hour_cos", "weekend"):
        return "time of day or week"
    group, _, rest = name.partition("__")
    if not rest:
        return f"{name} at {value:.3g}"
    feature, _, aggregate = rest.partition("__")
    template = _BEHAVIOUR.get(feature)
    if template is None:
        return f"{name} = {value:.3g}"
    if metric is not None:
        subject = metric
    elif group == "any":
        subject = "the average metric" if aggregate == "mean" else "a metric"
    else:
        subject = f"{group} metrics"
    return template.format(s=subject, v=value, x=math.exp(min(value, 50.0)))


def top_factors(
    names: Sequence[str],
    values: npt.ArrayLike,
    contributions: npt.ArrayLike,
    k: int = 5,
    drivers: Mapping[str, str] | None = None,
) -> list[Factor]:
    """The `k` features with the largest contributions (bias column excluded), strongest first;
    `drivers` names the metric behind a summary feature where one is known."""
    row = np.asarray(values, dtype=np.float64)
    contrib = np.asarray(contributions, dtype=np.float64)[: len(names)]
    order = np.argsort(-np.abs(contrib), kind="stable")[:k]
    out = []
    for j in order.tolist():
        c = float(contrib[j])
        if c == 0.0:
            continue
        name = names[j]
        metric = (drivers or {}).get(name)
        statement = f"{describe_feature(name, float(row[j]), metric)}: {c:+.2f}"
        out.append(Factor(name, metric, float(row[j]), c, statement))
    return out
