"""Request bodies are limited before they are parsed or anyone is authenticated: 1 MiB on
ordinary routes, `max_body_bytes` on the bulk ones, by declared length and by counting."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from factories import bearer
from fastapi import FastAPI

from failcast.config import Settings
from failcast.deps import services_of

MIB = 1024 * 1024
CHUNK = 64 * 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Bulk routes get 4 MiB here, so a test can cross both limits with small bodies.
    return settings.model_copy(update={"max_body_bytes": 4 * MIB})


class Stream:
    """A request body of `total` bytes sent in chunks without a Content-Length; counts what
    the server pulled."""

    def __init__(self, total: int, first: bytes = b"") -> None:
        self.total = total
        self.first = first
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.first:
            self.pulled += len(self.first)
            yield self.first
        while self.pulled < self.total:
            self.pulled += CHUNK
            yield b" " * CHUNK


def _json_of_size(size: int) -> bytes:
    """A valid JSON login body padded with spaces to `size` bytes."""
    body = json.dumps({"email": "a@example.com", "password": "x" * 12}).encode()
    return body + b" " * (size - len(body))


async def test_a_large_declared_body_is_refused_before_sign_in_is_attempted(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    checked: list[Any] = []
    original = services_of(app).passwords.verify

    async def counting(password_hash: str | None, password: str) -> bool:
        checked.append(password_hash)
        result: bool = await original(password_hash, password)
        return result

    services_of(app).passwords.verify = counting
    response = await client.post(
        "/api/v1/login",
        content=_json_of_size(MIB + 1),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {
        "error": "PayloadTooLarge",
        "detail": f"request body exceeds {MIB} bytes",
    }
    assert response.headers["x-request-id"]
    assert checked == []
    # Just under the limit the same body is read, parsed and checked.
    ok = await client.post(
        "/api/v1/login",
        content=_json_of_size(MIB),
        headers={"content-type": "application/json"},
    )
    assert ok.status_code == 401
    assert len(checked) == 1


async def test_a_streamed_body_is_cut_off_at_the_limit(client: httpx.AsyncClient) -> None:
    stream = Stream(100 * MIB, first=b'{"email": "a@example.com", "password": "')
    response = await client.post(
        "/api/v1/login", content=stream, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"
    # Reading stopped at the limit: the rest of the 100 MiB was never pulled.
    assert stream.pulled <= MIB + 2 * CHUNK


async def test_bulk_routes_take_up_to_max_body_bytes(
    client: httpx.AsyncClient, api_key: str
) -> None:
    now = datetime.now(UTC).timestamp()
    padding = "p" * 200
    samples = [
        {"service": "a", "metric": "m", "labels": {"pad": padding}, "ts": now - i, "value": 1.0}
        for i in range(8000)
    ]
    body = json.dumps({"samples": samples}).encode()
    assert MIB < len(body) < 4 * MIB
    accepted = await client.post(
        "/api/v1/metrics",
        content=body,
        headers=bearer(api_key) | {"content-type": "application/json"},
    )
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] == 8000


async def test_bulk_routes_refuse_more_than_max_body_bytes_before_authentication(
    client: httpx.AsyncClient,
) -> None:
    for path in ("/api/v1/metrics", "/api/v1/prometheus/write", "/v1/metrics"):
        response = await client.post(
            path,
            content=b" " * (4 * MIB + 1),
            headers={"content-type": "application/json", "authorization": "Bearer nobody"},
        )
        assert response.status_code == 413, path
    streamed = Stream(100 * MIB)
    response = await client.post(
        "/api/v1/metrics", content=streamed, headers={"content-type": "application/json"}
    )
    # Without a length the route authenticates first (401), so nothing is read at all.
    assert response.status_code in (401, 413)
    assert streamed.pulled <= 4 * MIB + 2 * CHUNK


async def test_an_ordinary_route_refuses_a_body_the_bulk_routes_would_take(
    client: httpx.AsyncClient, api_key: str
) -> None:
    response = await client.post(
        "/api/v1/services",
        content=b" " * (2 * MIB),
        headers=bearer(api_key) | {"content-type": "application/json"},
    )
    assert response.status_code == 413
