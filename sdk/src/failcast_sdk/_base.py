"""The logging half of both clients: checking, buffering and waking the sender."""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from typing import Any

from failcast_sdk._core import (
    Buffer,
    Event,
    Retry,
    Stats,
    label_event,
    metric_event,
    prediction_event,
)
from failcast_sdk._ml import ModelMonitor


class BaseClient(ABC):
    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        batch_size: int,
        flush_interval: float,
        max_buffer: int,
        retry: Retry | None,
        timeout: float,
    ) -> None:
        if batch_size < 1 or batch_size > 10_000:
            raise ValueError("batch_size must be between 1 and 10000")
        if max_buffer < batch_size:
            raise ValueError("max_buffer must hold at least one batch")
        if flush_interval <= 0:
            raise ValueError("flush_interval must be positive")
        self.url = url.rstrip("/")
        self.api_key = api_key
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.retry = retry or Retry()
        self.timeout = timeout
        self._buffer = Buffer(max_buffer)
        self._last_ms: dict[tuple[str, str, tuple[tuple[str, str], ...]], int] = {}
        self._stamp_lock = threading.Lock()

    def _stamp(self, service: str, metric: str, labels: dict[str, str] | None) -> float:
        """Now, in Unix seconds, but later than the last stamp of the same series: the server
        keeps one value per series and millisecond, so a burst must not overwrite itself."""
        key = (service, metric, tuple(sorted((labels or {}).items())))
        with self._stamp_lock:
            ms = max(int(time.time() * 1000), self._last_ms.get(key, 0) + 1)
            if len(self._last_ms) > 10_000:
                self._last_ms.clear()
            self._last_ms[key] = ms
        return ms / 1000

    @property
    def stats(self) -> Stats:
        """Events sent, dropped (buffer full) and failed (refused or out of retries)."""
        return self._buffer.stats

    @property
    def pending(self) -> int:
        """Events waiting in the buffer."""
        return len(self._buffer)

    def _enqueue(self, event: Event) -> None:
        if self._buffer.put(event) >= self.batch_size:
            self._wake()

    @abstractmethod
    def _wake(self) -> None:
        """Tell the sender a full batch is waiting."""

    def log_metric(
        self,
        service: str,
        metric: str,
        value: float,
        labels: dict[str, str] | None = None,
        ts: float | None = None,
    ) -> None:
        """Queue one sample (`ts` in Unix seconds, default now); sent in the next batch.

        Raises ValueError at once for a name or value the server would refuse."""
        if ts is None:
            ts = self._stamp(service, metric, labels)
        self._enqueue(metric_event(service, metric, value, labels, ts))

    def log_prediction(
        self,
        id: str,
        features: dict[str, Any],
        prediction: float | str | bool,
        *,
        model: str,
        ts: float | None = None,
    ) -> None:
        """Queue a prediction of `model`; its label (`log_label`, same id) may come later."""
        if ts is None:
            labels = {"class": prediction[:256]} if isinstance(prediction, str) else None
            ts = self._stamp(model, "prediction", labels)
        self._enqueue(prediction_event(model, id, features, prediction, ts))

    def log_label(
        self, id: str, label: float | str | bool, *, model: str, ts: float | None = None
    ) -> None:
        """Queue the ground truth of an earlier (or later) prediction of `model`."""
        self._enqueue(label_event(model, id, label, ts))

    def monitor_model(self, name: str) -> ModelMonitor:
        """A monitor for model `name`: a decorator or context manager that logs latency and
        predictions, with `log_prediction` and `log_label` bound to the model."""
        return ModelMonitor(self, name)
