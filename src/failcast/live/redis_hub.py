"""The Hub of scale-out mode: topics are Redis pub/sub channels, so an event published by any
process (a worker's simulator tick, an API request) reaches subscribers on every replica.

Each process keeps one pub/sub connection. The first local subscriber of a topic subscribes
the channel, the last one to leave unsubscribes it, and one reader task hands each message
to the topic's local Subscriptions (which drop their oldest message when full, as in-process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError

from failcast.config import Settings
from failcast.live.hub import Hub, InProcessHub, Subscription

log = logging.getLogger("failcast.live")

# How long the reader blocks on the socket before re-checking; bounds close() latency.
_READ_TIMEOUT = 1.0
_RECONNECT_PAUSE = 0.5


class RedisHub:
    def __init__(self, url: str, prefix: str = "failcast:", maxsize: int = 256) -> None:
        self._redis: Redis = Redis.from_url(url)
        self._prefix = prefix
        self._maxsize = maxsize
        self._subscribers: dict[str, set[Subscription]] = defaultdict(set)
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def channel(self, topic: str) -> str:
        return self._prefix + topic

    async def publish(self, topic: str, message: dict[str, Any]) -> None:
        await self._redis.publish(self.channel(topic), orjson.dumps(message))

    @contextlib.asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(self._maxsize)
        async with self._lock:
            if self._pubsub is None:
                self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            if topic not in self._subscribers:
                await self._pubsub.subscribe(self.channel(topic))
            self._subscribers[topic].add(subscription)
            if self._reader is None:
                self._reader = asyncio.create_task(self._read(self._pubsub), name="redis-hub")
        try:
            yield subscription
        finally:
            async with self._lock:
                self._subscribers[topic].discard(subscription)
                if not self._subscribers[topic]:
                    del self._subscribers[topic]
                    if self._pubsub is not None:
                        with contextlib.suppress(RedisConnectionError):
                            await self._pubsub.unsubscribe(self.channel(topic))

    def subscriber_count(self, topic: str) -> int:
        return len(self._subscribers.get(topic, ()))

    def _deliver(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        topic = (channel.decode() if isinstance(channel, bytes) else str(channel))[
            len(self._prefix) :
        ]
        payload = orjson.loads(message["data"])
        for subscription in list(self._subscribers.get(topic, ())):
            subscription.offer(payload)

    async def _read(self, pubsub: PubSub) -> None:
        while True:
            try:
                message = await pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=_READ_TIMEOUT
                )
            except RedisConnectionError:
                # redis-py reconnects and re-subscribes on the next read; messages published
                # while the connection was down are lost, as pub/sub promises nothing more.
                log.warning("live stream lost its Redis connection; reconnecting")
                await asyncio.sleep(_RECONNECT_PAUSE)
                continue
            if message is not None and message.get("type") == "message":
                self._deliver(message)

    async def close(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            self._pubsub = None
        self._subscribers.clear()
        await self._redis.aclose()


def hub_for(settings: Settings) -> Hub:
    """The hub of the configured mode: in-process, or Redis pub/sub over `settings.redis_url`."""
    if settings.scale_out:
        return RedisHub(settings.redis_url, settings.redis_prefix)
    return InProcessHub()
