"""A client that goes away before its answer is counted as 499, never as a server error."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from failcast.ops.middleware import CLIENT_CLOSED, RequestTelemetry
from failcast.ops.telemetry import Telemetry


def _scope() -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": "/app/", "headers": []}


def _count(telemetry: Telemetry, status: int) -> float:
    total = 0.0
    for metric in telemetry.requests.collect():
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels["status"] == str(status):
                total += sample.value
    return total


async def _disconnected() -> Message:
    return {"type": "http.disconnect"}


async def _nothing(message: Message) -> None:
    return None


async def test_an_error_after_the_client_left_is_a_499_and_is_not_raised() -> None:
    telemetry = Telemetry()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        raise RuntimeError("the page's client is gone")

    await RequestTelemetry(app, telemetry)(_scope(), _disconnected, _nothing)
    assert _count(telemetry, CLIENT_CLOSED) == 1
    assert _count(telemetry, 500) == 0


async def test_a_write_to_a_closed_connection_is_a_499() -> None:
    telemetry = Telemetry()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def closed(message: Message) -> None:
        raise OSError("connection closed")

    await RequestTelemetry(app, telemetry)(_scope(), _disconnected, closed)
    assert _count(telemetry, CLIENT_CLOSED) == 1
    assert _count(telemetry, 500) == 0


async def test_a_cancelled_request_is_a_499() -> None:
    telemetry = Telemetry()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await RequestTelemetry(app, telemetry)(_scope(), _disconnected, _nothing)
    assert _count(telemetry, CLIENT_CLOSED) == 1
    assert _count(telemetry, 500) == 0


async def test_an_error_while_the_client_waits_is_still_a_500() -> None:
    telemetry = Telemetry()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        await RequestTelemetry(app, telemetry)(_scope(), _disconnected, _nothing)
    assert _count(telemetry, 500) == 1
