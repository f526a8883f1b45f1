"""The WebSocket stream over a real server: each org hears its own ticks and nobody else's."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
import websockets
from factories import LiveServer
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.usefixtures("fast_ticks")


@pytest.fixture
def fast_ticks(settings: Any) -> None:
    settings.simulator_tick_seconds = 0.2
    settings.periodic_jobs = True


def signup(http: httpx.Client, email: str) -> str:
    body = http.post(
        "/api/v1/register",
        json={"email": email, "password": "a long passphrase", "org_name": email},
    ).json()
    token: str = body["access_token"]
    response = http.put(
        "/api/v1/chaos/simulator",
        json={"enabled": True},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    return token


async def receive_ticks(url: str, token: str, count: int) -> list[dict[str, Any]]:
    ws_url = url.replace("http://", "ws://") + f"/api/v1/stream?token={token}"
    async with websockets.connect(ws_url) as socket:
        hello = json.loads(await socket.recv())
        ticks = []
        while len(ticks) < count:
            message = json.loads(await asyncio.wait_for(socket.recv(), timeout=15))
            # The simulator's ingests and health changes come too; every message is the org's.
            assert message["org_id"] == hello["org_id"]
            if message["type"] == "tick":
                ticks.append(message)
    assert hello["type"] == "hello"
    return [hello, *ticks]


def test_each_org_receives_only_its_own_ticks(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        alice = signup(http, "alice@a.example")
        bob = signup(http, "bob@b.example")

    async def both() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        return await asyncio.gather(
            receive_ticks(live_server.url, alice, 3), receive_ticks(live_server.url, bob, 3)
        )

    alice_messages, bob_messages = asyncio.run(both())
    alice_org = alice_messages[0]["org_id"]
    bob_org = bob_messages[0]["org_id"]
    assert alice_org != bob_org
    assert all(m["type"] == "tick" and m["org_id"] == alice_org for m in alice_messages[1:])
    assert all(m["type"] == "tick" and m["org_id"] == bob_org for m in bob_messages[1:])
    assert "api-gateway" in alice_messages[1]["values"]


def test_the_stream_refuses_missing_and_bad_credentials(live_server: LiveServer) -> None:
    async def attempt(query: str) -> int | None:
        url = live_server.url.replace("http://", "ws://") + "/api/v1/stream" + query
        try:
            async with websockets.connect(url) as socket:
                await socket.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        except websockets.InvalidStatus as refused:
            return refused.response.status_code
        return None

    assert asyncio.run(attempt("")) in (1008, 403)
    assert asyncio.run(attempt("?token=fc_bad_key")) in (1008, 403)
