"""The values a metric can take, from Prometheus and OpenTelemetry naming conventions: a
forecast never leaves them (a percentage is never forecast at 950)."""

from __future__ import annotations

import math
import re

Bounds = tuple[float, float]

_PERCENT = re.compile(r"(_pct|_percent|_percentage|percent)$|^percent")
_RATIO = re.compile(r"(_ratio|_fraction|_rate_ratio|availability|success_rate|error_rate)$")
_NON_NEGATIVE = re.compile(
    r"(_seconds|_milliseconds|_ms|_bytes|_total|_count|_sum|_bucket|_size|_depth|_length|"
    r"_rps|_qps|_per_second|_usd|_usd_per_hour|_celsius_abs)$|latency|duration|queue|"
    r"throughput|requests|memory|disk|connections|replicas|bytes"
)


def metric_bounds(metric: str) -> Bounds:
    """(lowest, highest) value `metric` can take; (-inf, inf) when its name says nothing."""
    name = metric.lower()
    if _PERCENT.search(name):
        return 0.0, 100.0
    if _RATIO.search(name) or name == "up":
        return 0.0, 1.0
    if _NON_NEGATIVE.search(name):
        return 0.0, math.inf
    return -math.inf, math.inf


def clamp(value: float, bounds: Bounds) -> float:
    return min(max(value, bounds[0]), bounds[1])
