"""Model monitoring: latency and predictions of a model, as a decorator or context manager."""

from __future__ import annotations

import functools
import inspect
import math
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from failcast_sdk._base import BaseClient

F = TypeVar("F", bound=Callable[..., Any])

LATENCY_WINDOW = 100


class ModelMonitor:
    """Logs, for model service `name`: `latency_ms` of every call, `latency_p99_ms` over the
    last 100 calls (the metric health scores read), and numeric results as `prediction`.

    As a decorator it times each call of the function and logs its result; as a context
    manager it times the block, and `log_prediction`/`log_label` record joinable events.
    """

    def __init__(self, client: BaseClient, name: str) -> None:
        self.client = client
        self.name = name
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)
        self._started: list[float] = []

    def log_prediction(
        self,
        id: str,
        features: dict[str, Any],
        prediction: float | str | bool,
        ts: float | None = None,
    ) -> None:
        """Record a prediction of this model; its label may come later with the same id."""
        self.client.log_prediction(id, features, prediction, model=self.name, ts=ts)

    def log_label(self, id: str, label: float | str | bool, ts: float | None = None) -> None:
        """Record the ground truth of prediction `id` of this model."""
        self.client.log_label(id, label, model=self.name, ts=ts)

    def record_latency(self, seconds: float) -> None:
        """Log one call's latency and the p99 of the recent calls (nearest rank)."""
        milliseconds = seconds * 1000
        self._latencies.append(milliseconds)
        ordered = sorted(self._latencies)
        p99 = ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]
        self.client.log_metric(self.name, "latency_ms", milliseconds)
        self.client.log_metric(self.name, "latency_p99_ms", p99)

    def _result(self, value: Any) -> None:
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            self.client.log_metric(self.name, "prediction", float(value))

    def __call__(self, function: F) -> F:
        if inspect.iscoroutinefunction(function):

            @functools.wraps(function)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                result = await function(*args, **kwargs)
                self.record_latency(time.perf_counter() - start)
                self._result(result)
                return result

            return cast(F, timed_async)

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            result = function(*args, **kwargs)
            self.record_latency(time.perf_counter() - start)
            self._result(result)
            return result

        return cast(F, timed)

    def __enter__(self) -> ModelMonitor:
        self._started.append(time.perf_counter())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        started = self._started.pop()
        if exc_type is None:
            self.record_latency(time.perf_counter() - started)
