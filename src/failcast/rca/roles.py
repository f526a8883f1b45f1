"""What a metric measures, read from the naming conventions of Prometheus and OpenTelemetry.

Roles only decide which metric is *named* when several are equally anomalous (a saturated
resource points to a cause better than the latency it produces) and how much a change of
traffic alone counts (traffic follows users and callers more often than it causes a failure).
They never decide whether a metric counts: a metric with an unknown name is judged on its
behaviour like any other.

>>> role("http_server_request_duration_seconds")
'latency'
>>> role("node_memory_working_set_bytes")
'resource'
>>> role("grpc_server_handled_total")
'traffic'
>>> role("widget_frobnications")
'other'
"""

from __future__ import annotations

import re
from typing import Literal

Role = Literal["resource", "errors", "latency", "traffic", "other"]

# The order of the checks matters: `process_cpu_seconds_total` is about CPU before it is a
# duration, `http_requests_errors_total` is about errors before it is a counter of requests,
# and `request_duration_seconds` is a latency before it is a request.
_WORDS: tuple[tuple[Role, tuple[str, ...]], ...] = (
    ("resource", ("cpu", "memory", "heap", "disk", "filesystem", "swap")),
    ("errors", (
        "error", "fail", "fault", "exception", "reject", "5xx", "timeout", "unavailab",
        "availab", "success", "abort", "drop", r"retr(y|ies)", "panic", "crash", "restart",
    )),
    ("latency", (
        "latency", "duration", r"response_?time", r"_seconds\b", "_seconds_", r"_ms\b", "_ms_",
        "delay", "lag", "wait", "elapsed", "rtt",
    )),
    ("resource", (
        "mem_", "gc_", "fs_", "saturation", "pool", "utili[sz]ation", "usage", r"_bytes\b",
        "_bytes_", r"_ratio\b", r"_pct\b", "percent", "load", "thread", "goroutine",
        "connection", "queue", "inflight", "in_flight", "open_fds", "iops", "throttl",
    )),
    ("traffic", (
        "request", "rps", "qps", "throughput", "traffic", r"_total\b", r"_count\b", r"rate\b",
        "calls", "rows", "messages", "events", "hits", "processed",
    )),
)  # fmt: skip
_RULES = tuple((found, re.compile("|".join(words))) for found, words in _WORDS)

# When several metrics of a service are about as anomalous, the one named is the first of
# these: a resource running out explains errors and latency, not the other way round.
PRIORITY: dict[Role, int] = {"resource": 0, "errors": 1, "latency": 2, "other": 3, "traffic": 4}


def role(metric: str) -> Role:
    """The role of a metric from its name (`other` when no convention applies)."""
    name = metric.lower().split("{", 1)[0].replace(".", "_").replace("-", "_")
    for found, pattern in _RULES:
        if pattern.search(name):
            return found
    return "other"
