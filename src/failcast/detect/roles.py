"""What a metric measures, read from Prometheus and OpenTelemetry naming conventions and units.

A role groups metrics that fail the same way (latency rises, availability falls, memory fills
up), so that features summarised per role keep one meaning whatever a metric is called. A name
that says nothing gets the role `other` and still counts through its behaviour.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from failcast.detect.bounds import metric_bounds

ROLES: tuple[str, ...] = (
    "latency",
    "errors",
    "availability",
    "saturation",
    "cpu",
    "memory",
    "disk",
    "throughput",
    "cost",
    "quality",
    "other",
)

# (role, pattern) in order of precedence: the first match wins ("cpu_seconds" is cpu, not latency).
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("availability", re.compile(r"^up$|_up$|^availability|_availability|success|uptime|healthy")),
    ("errors", re.compile(r"error|fail|exception|fault|5xx|reject|timeout|panic|crash")),
    ("cost", re.compile(r"cost|dollar|usd|eur|price|spend|billing")),
    ("quality", re.compile(r"accuracy|precision|recall|auc|f1|drift|quality|score")),
    ("cpu", re.compile(r"cpu|processor|core")),
    ("memory", re.compile(r"memory|mem_|heap|rss|resident|oom|swap")),
    ("disk", re.compile(r"disk|filesystem|_fs_|storage|volume|inode")),
    (
        "saturation",
        re.compile(
            r"saturation|utili[sz]ation|usage|connections|queue|depth|backlog|pool|inflight|"
            r"in_flight|pending|waiting|load|threads|open_fds|file_descriptors|lag_messages"
        ),
    ),
    (
        "latency",
        re.compile(r"latency|duration|response_time|_seconds|_ms$|_ms_|lag|delay|freshness|stale"),
    ),
    (
        "throughput",
        re.compile(r"requests|throughput|rps|qps|traffic|rows|records|processed|predictions|ops"),
    ),
)

# +1: rising is bad; -1: falling is bad; 0: either way.
DIRECTION: dict[str, int] = {
    "latency": 1,
    "errors": 1,
    "availability": -1,
    "saturation": 1,
    "cpu": 1,
    "memory": 1,
    "disk": 1,
    "throughput": 0,
    "cost": 1,
    "quality": 0,
    "other": 0,
}
# Roles whose upper bound is a limit the service breaks at (a full disk, 100 % CPU).
_LIMITED = {"saturation", "cpu", "memory", "disk"}
_COUNTER = re.compile(r"(_total|_count|_sum|_created)$")
_FALLING_QUALITY = re.compile(r"accuracy|precision|recall|auc|f1|quality")
# What is left of a resource (free memory, available disk) falls as the resource fills up.
_REMAINING = re.compile(r"avail|free|remaining|headroom|left")


@dataclass(frozen=True, slots=True)
class MetricRole:
    """How a metric is read: its role, which way is bad, whether it is a cumulative counter,
    and the value at which the service breaks (None when not known)."""

    role: str
    direction: int
    counter: bool
    limit: float | None


def metric_role(metric: str, *, role: str | None = None, limit: float | None = None) -> MetricRole:
    """The role of `metric` from its name, unless `role` (and `limit`) are declared."""
    name = metric.lower()
    found = role or next((r for r, pattern in _PATTERNS if pattern.search(name)), "other")
    if found not in ROLES:
        raise ValueError(f"unknown role {found!r}; choose one of {', '.join(ROLES)}")
    direction = DIRECTION[found]
    if found == "quality":
        # Accuracy falls when a model fails; a drift score rises.
        direction = -1 if _FALLING_QUALITY.search(name) else 1
    if found in _LIMITED and _REMAINING.search(name):
        return MetricRole(found, -1, bool(_COUNTER.search(name)), limit)
    if limit is None and found in _LIMITED:
        high = metric_bounds(name)[1]
        limit = high if math.isfinite(high) else None
    return MetricRole(found, direction, bool(_COUNTER.search(name)), limit)
