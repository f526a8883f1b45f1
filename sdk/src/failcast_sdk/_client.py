"""The synchronous client: a background thread sends batches."""

from __future__ import annotations

import contextlib
import threading
import time
from types import TracebackType
from typing import Any

import httpx

from failcast_sdk._base import BaseClient
from failcast_sdk._core import Event, Retry, error_for, headers, requests_for, retryable
from failcast_sdk._errors import FailcastError, ServerError, TransportError


class Client(BaseClient):
    """Sends metrics and ML events to a Failcast server from any thread.

    Events are queued and sent by a background thread in batches of `batch_size`, or every
    `flush_interval` seconds, whichever comes first. At most `max_buffer` events wait; more
    are dropped and counted in `stats.dropped`. Use it as a context manager, or call
    `close()`, so that the last events are sent.
    """

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        batch_size: int = 500,
        flush_interval: float = 5.0,
        max_buffer: int = 100_000,
        retry: Retry | None = None,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            url,
            api_key,
            batch_size=batch_size,
            flush_interval=flush_interval,
            max_buffer=max_buffer,
            retry=retry,
            timeout=timeout,
        )
        self._http = httpx.Client(
            base_url=self.url, headers=headers(api_key), timeout=timeout, transport=transport
        )
        self._wakeup = threading.Event()
        self._stopping = threading.Event()
        self._sending = threading.Lock()
        self._start_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def _wake(self) -> None:
        self._ensure_thread()
        self._wakeup.set()

    def _enqueue(self, event: Event) -> None:
        if self._closed:
            raise RuntimeError("the client is closed")
        self._ensure_thread()
        super()._enqueue(event)

    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="failcast-sdk-flush", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.wait(self.flush_interval)
            self._wakeup.clear()
            if self._stopping.is_set():
                break
            self._drain(full_batches_only=False)

    def _drain(self, *, full_batches_only: bool) -> list[FailcastError]:
        """Send queued events batch by batch; failures are counted, and returned."""
        errors: list[FailcastError] = []
        with self._sending:
            while len(self._buffer) and (
                not full_batches_only or len(self._buffer) >= self.batch_size
            ):
                events = self._buffer.take(self.batch_size)
                for path, body, count in _bodies(events):
                    try:
                        self._post(path, body)
                        self.stats.sent += count
                    except FailcastError as exc:
                        self.stats.failed += count
                        self.stats.last_error = exc
                        errors.append(exc)
        return errors

    def _post(self, path: str, body: dict[str, Any]) -> None:
        for attempt in range(self.retry.attempts):
            last = attempt == self.retry.attempts - 1
            try:
                response = self._http.post(path, json=body)
            except httpx.TransportError as exc:
                if last:
                    raise TransportError(f"cannot reach {self.url}: {exc}") from exc
                time.sleep(self.retry.delay(attempt))
                continue
            if response.status_code < 400:
                return
            error = error_for(response)
            if not retryable(response.status_code) or last:
                raise error
            time.sleep(self.retry.delay(attempt, response.headers.get("Retry-After")))
        raise ServerError(0, "no attempts configured")

    def flush(self) -> None:
        """Send everything queued now; raises the first error if any batch failed."""
        errors = self._drain(full_batches_only=False)
        if errors:
            raise errors[0]

    def close(self) -> None:
        """Send what is queued, stop the background thread and close connections."""
        if self._closed:
            return
        self._closed = True
        self._stopping.set()
        self._wakeup.set()
        if self._thread is not None:
            self._thread.join()
        try:
            self.flush()
        finally:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
            return
        # An exception is already on its way: do not hide it behind a send error.
        with contextlib.suppress(FailcastError):
            self.close()


def _bodies(events: list[Event]) -> list[tuple[str, dict[str, Any], int]]:
    """(path, body, number of events) of the requests that carry a batch."""
    out = []
    for path, body in requests_for(events):
        items = body.get("samples") or body.get("predictions") or body.get("labels") or []
        out.append((path, body, len(items)))
    return out
