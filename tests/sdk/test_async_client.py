from __future__ import annotations

import asyncio
import time

import httpx
from _servers import live_key, scripted_server, stored
from factories import LiveServer
from failcast_sdk import AsyncClient, Retry


async def test_async_batches_and_flushes_on_exit(live_server: LiveServer) -> None:
    key = await asyncio.to_thread(live_key, live_server.url)
    sizes: list[int] = []

    class Recording(httpx.AsyncBaseTransport):
        inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            import json

            sizes.append(len(json.loads(await request.aread())["samples"]))
            return await self.inner.handle_async_request(request)

    now = time.time() - 100
    async with AsyncClient(
        live_server.url, key, batch_size=4, flush_interval=60, transport=Recording()
    ) as client:
        for i in range(4):
            client.log_metric("worker", "jobs", float(i), ts=now + i)
        for _ in range(1000):  # at most 10 s
            if client.stats.sent >= 4:
                break
            await asyncio.sleep(0.01)
        assert sizes == [4]
        client.log_metric("worker", "jobs", 4.0, ts=now + 4)
    assert sizes == [4, 1]
    values = await asyncio.to_thread(stored, live_server.url, key, "jobs", "worker")
    assert values == [0.0, 1.0, 2.0, 3.0, 4.0]


async def test_async_retries_5xx() -> None:
    with scripted_server([502, 500, 200]) as server:
        async with AsyncClient(
            server.url, "fc_a_b", retry=Retry(attempts=3, backoff=0.001)
        ) as client:
            client.log_metric("api", "x", 1.0)
        assert len(server.bodies) == 3
        assert client.stats.sent == 1
