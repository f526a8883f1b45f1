"""The pub/sub seam: publish to a topic, subscribe to a topic.

`InProcessHub` fans out within one process; a Redis pub/sub hub with the same interface lets
any API replica serve any subscriber in scale-out mode. Slow subscribers lose their oldest
messages instead of stalling publishers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol


class Hub(Protocol):
    async def publish(self, topic: str, message: dict[str, Any]) -> None: ...

    def subscribe(self, topic: str) -> contextlib.AbstractAsyncContextManager[Subscription]: ...

    async def close(self) -> None: ...


class Subscription:
    def __init__(self, maxsize: int) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self.dropped = 0

    def offer(self, message: dict[str, Any]) -> None:
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        while True:
            yield await self.queue.get()


class InProcessHub:
    def __init__(self, maxsize: int = 256) -> None:
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._maxsize = maxsize

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        for subscription in list(self._subscribers.get(topic, ())):
            subscription.offer(message)

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(self._maxsize)
        self._subscribers[topic].add(subscription)
        try:
            yield subscription
        finally:
            self._subscribers[topic].discard(subscription)
            if not self._subscribers[topic]:
                del self._subscribers[topic]

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    async def close(self) -> None:
        self._subscribers.clear()


def org_topic(org_id: int) -> str:
    return f"org:{org_id}"
