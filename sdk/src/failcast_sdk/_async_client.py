"""The asyncio client: a background task sends batches."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Any

import httpx

from failcast_sdk._base import BaseClient
from failcast_sdk._client import _bodies
from failcast_sdk._core import Event, Retry, error_for, headers, retryable
from failcast_sdk._errors import FailcastError, ServerError, TransportError


class AsyncClient(BaseClient):
    """The asyncio twin of `Client`: logging calls are plain (non-blocking) methods; `flush`
    and `aclose` are coroutines. Use it as `async with AsyncClient(...) as client:`."""

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
        transport: httpx.AsyncBaseTransport | None = None,
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
        self._http = httpx.AsyncClient(
            base_url=self.url, headers=headers(api_key), timeout=timeout, transport=transport
        )
        self._wakeup: asyncio.Event | None = None
        self._sending: asyncio.Lock | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def _enqueue(self, event: Event) -> None:
        if self._closed:
            raise RuntimeError("the client is closed")
        super()._enqueue(event)
        self._ensure_task()

    def _ensure_task(self) -> None:
        if self._task is not None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: events wait for the first flush
        self._wakeup = asyncio.Event()
        self._sending = asyncio.Lock()
        self._task = asyncio.create_task(self._run(), name="failcast-sdk-flush")

    def _wake(self) -> None:
        self._ensure_task()
        if self._wakeup is not None:
            self._wakeup.set()

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.flush_interval)
            self._wakeup.clear()
            await self._drain()

    async def _drain(self) -> list[FailcastError]:
        if self._sending is None:
            self._sending = asyncio.Lock()
        errors: list[FailcastError] = []
        async with self._sending:
            while len(self._buffer):
                events = self._buffer.take(self.batch_size)
                for path, body, count in _bodies(events):
                    try:
                        await self._post(path, body)
                        self.stats.sent += count
                    except FailcastError as exc:
                        self.stats.failed += count
                        self.stats.last_error = exc
                        errors.append(exc)
        return errors

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        for attempt in range(self.retry.attempts):
            last = attempt == self.retry.attempts - 1
            try:
                response = await self._http.post(path, json=body)
            except httpx.TransportError as exc:
                if last:
                    raise TransportError(f"cannot reach {self.url}: {exc}") from exc
                await asyncio.sleep(self.retry.delay(attempt))
                continue
            if response.status_code < 400:
                return
            error = error_for(response)
            if not retryable(response.status_code) or last:
                raise error
            await asyncio.sleep(self.retry.delay(attempt, response.headers.get("Retry-After")))
        raise ServerError(0, "no attempts configured")

    async def flush(self) -> None:
        """Send everything queued now; raises the first error if any batch failed."""
        errors = await self._drain()
        if errors:
            raise errors[0]

    async def aclose(self) -> None:
        """Send what is queued, stop the background task and close connections."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await self.flush()
        finally:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            await self.aclose()
            return
        with contextlib.suppress(FailcastError):
            await self.aclose()
