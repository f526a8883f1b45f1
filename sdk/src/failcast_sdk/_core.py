"""What the sync and async clients share: the buffer, batching, payloads and retry timing."""

from __future__ import annotations

import email.utils
import math
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import httpx

from failcast_sdk._errors import (
    APIError,
    AuthenticationError,
    FailcastError,
    RequestRejected,
    ServerError,
)

_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")

METRICS_PATH = "/api/v1/metrics"
PREDICTIONS_PATH = "/api/v1/ml/predictions"
LABELS_PATH = "/api/v1/ml/labels"

# (path, model or "", item): a sample for /metrics, or a prediction or label of a model.
Event = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Retry:
    """How failed sends are retried: exponential backoff with jitter, honouring Retry-After.

    Retried: network errors, 429 and 5xx. The delay before retry n (from 0) is
    `backoff * 2**n`, at most `max_backoff`, scaled by a random factor in [0.5, 1]; a
    Retry-After header replaces it (still capped by `max_backoff`).
    """

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 30.0

    def delay(self, retry: int, retry_after: str | None = None) -> float:
        """Seconds to wait before retry number `retry` (0 for the first retry)."""
        if retry_after is not None:
            seconds = parse_retry_after(retry_after)
            if seconds is not None:
                return min(seconds, self.max_backoff)
        base: float = min(self.backoff * 2.0**retry, self.max_backoff)
        return base * random.uniform(0.5, 1.0)


def parse_retry_after(value: str) -> float | None:
    """Seconds from a Retry-After header: delay-seconds or an HTTP date."""
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retryable(status: int) -> bool:
    return status == 429 or status >= 500


def error_for(response: httpx.Response) -> APIError:
    try:
        body = response.json()
        detail = body.get("detail", body) if isinstance(body, dict) else body
    except ValueError:
        detail = response.text
    status = response.status_code
    if status in (401, 403):
        return AuthenticationError(status, detail)
    if retryable(status):
        return ServerError(status, detail)
    return RequestRejected(status, detail)


def check_metric(service: str, metric: str, value: float, labels: dict[str, str] | None) -> None:
    """Refuse at once what the server would refuse, so one bad call cannot sink a batch."""
    if not isinstance(service, str) or not _SERVICE.match(service) or len(service) > 128:
        raise ValueError(f"service {service!r} must match {_SERVICE.pattern}")
    if not isinstance(metric, str) or not _NAME.match(metric) or len(metric) > 200:
        raise ValueError(f"metric {metric!r} must match {_NAME.pattern}")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"value of {metric} must be a finite number, not {value!r}")
    for name, text in (labels or {}).items():
        if not _NAME.match(name) or not isinstance(text, str):
            raise ValueError(f"label {name!r} must match {_NAME.pattern} and have a text value")


def metric_event(
    service: str, metric: str, value: float, labels: dict[str, str] | None, ts: float | None
) -> Event:
    check_metric(service, metric, value, labels)
    item = {
        "service": service,
        "metric": metric,
        "labels": dict(labels or {}),
        "ts": time.time() if ts is None else ts,
        "value": float(value),
    }
    return (METRICS_PATH, "", item)


def prediction_event(
    model: str, id: str, features: dict[str, Any], prediction: Any, ts: float | None
) -> Event:
    item = {
        "id": str(id),
        "features": dict(features),
        "prediction": prediction,
        "ts": time.time() if ts is None else ts,
    }
    return (PREDICTIONS_PATH, model, item)


def label_event(model: str, id: str, label: Any, ts: float | None) -> Event:
    item = {"id": str(id), "label": label, "ts": time.time() if ts is None else ts}
    return (LABELS_PATH, model, item)


def requests_for(events: list[Event]) -> list[tuple[str, dict[str, Any]]]:
    """(path, JSON body) per endpoint and model; predictions go before labels."""
    samples = [item for path, _, item in events if path == METRICS_PATH]
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for path, model, item in events:
        if path != METRICS_PATH:
            grouped.setdefault((path, model), []).append(item)
    out: list[tuple[str, dict[str, Any]]] = []
    if samples:
        out.append((METRICS_PATH, {"samples": samples}))
    for (path, model), items in sorted(grouped.items(), key=lambda kv: kv[0][0] == LABELS_PATH):
        key = "predictions" if path == PREDICTIONS_PATH else "labels"
        out.append((path, {"model": model, key: items}))
    return out


@dataclass
class Stats:
    """Counters of what happened to logged events."""

    sent: int = 0  # stored by the server
    dropped: int = 0  # refused because the buffer was full
    failed: int = 0  # given up on: refused by the server, or retries exhausted
    last_error: FailcastError | None = None


@dataclass
class Buffer:
    """A bounded FIFO of events; what does not fit is dropped and counted."""

    capacity: int
    stats: Stats = field(default_factory=Stats)
    events: deque[Event] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def put(self, event: Event) -> int:
        """Queue an event; returns the queue length (0 when the event was dropped)."""
        with self.lock:
            if len(self.events) >= self.capacity:
                self.stats.dropped += 1
                return 0
            self.events.append(event)
            return len(self.events)

    def take(self, count: int) -> list[Event]:
        with self.lock:
            return [self.events.popleft() for _ in range(min(count, len(self.events)))]

    def __len__(self) -> int:
        return len(self.events)


def headers(api_key: str) -> dict[str, str]:
    from failcast_sdk import __version__

    return {"Authorization": f"Bearer {api_key}", "User-Agent": f"failcast-sdk/{__version__}"}
