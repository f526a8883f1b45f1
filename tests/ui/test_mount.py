"""The dashboard's session cookie never travels in clear, and its socket serves only the
dashboard's own pages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

SOCKET = "/app/_nicegui_ws/socket.io/"


async def _client(app: FastAPI, base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
        yield http


@pytest.fixture
async def https_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async for http in _client(app, "https://failcast.example"):
        yield http


def _session_cookie(response: httpx.Response) -> str:
    [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("session=")]
    return cookie


def _flags(cookie: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}


async def test_the_session_cookie_is_secure_over_https(
    client: httpx.AsyncClient, https_client: httpx.AsyncClient
) -> None:
    secure = _session_cookie(await https_client.get("/app/login"))
    assert {"secure", "httponly"} <= _flags(secure)
    # Plain http (a developer's localhost) keeps a cookie the browser will send back.
    plain = _session_cookie(await client.get("/app/login"))
    assert "secure" not in _flags(plain)


@pytest.mark.parametrize(
    ("origin", "accepted"),
    [
        ("http://testserver", True),
        ("https://testserver", True),
        ("http://localhost:8000", True),  # the public URL
        ("https://evil.example", False),
        ("http://testserver.evil.example", False),
        ("null", False),
    ],
)
async def test_the_socket_accepts_only_the_dashboards_own_origin(
    client: httpx.AsyncClient, origin: str, accepted: bool
) -> None:
    response = await client.get(
        SOCKET, params={"EIO": "4", "transport": "polling"}, headers={"Origin": origin}
    )
    assert (response.status_code == 200) is accepted, response.text
    if not accepted:
        assert "not an accepted origin" in response.text
