"""Pages refresh when the org's live stream says something changed, not only on their timer.

A signed-in page subscribes to its org's topic of the app's hub (the same messages the
WebSocket stream carries; in scale-out mode, whatever any process published). On an alert,
prediction, health or ingest message it drops its cached API answers and refreshes, at most
once per `MIN_GAP_S`; a burst of messages costs one refresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from nicegui import background_tasks, ui

from failcast.live.hub import Subscription, org_topic
from failcast.ui.api import ApiClient

# What pages show: everything an org's stream carries but the simulator's own ticks.
PAGE_EVENTS = frozenset({"alert", "predictions", "health", "ingest"})
MIN_GAP_S = 0.5


def _drain(subscription: Subscription) -> None:
    while not subscription.queue.empty():
        subscription.queue.get_nowait()


def follow(
    api: ApiClient,
    org_id: int,
    refresh: Callable[[], Awaitable[None]],
    events: Iterable[str] = PAGE_EVENTS,
) -> None:
    """Run `refresh` on the page's client whenever the org's stream carries one of `events`,
    until the client goes away."""
    hub = api.backend.services.hub
    wanted = frozenset(events)
    client = ui.context.client

    async def listen() -> None:
        async with hub.subscribe(org_topic(org_id)) as subscription:
            while True:
                message = await subscription.get()
                if message.get("type") not in wanted:
                    continue
                _drain(subscription)
                api.backend.cache.forget(api.token)
                with client:
                    await refresh()
                await asyncio.sleep(MIN_GAP_S)

    task = background_tasks.create(listen(), name=f"live page of org {org_id}")
    client.on_delete(lambda: task.cancel())
