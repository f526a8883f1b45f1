from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from factories import PASSWORD, Account, Mailbox, delivered
from factories import mailbox as mailbox


async def test_responses_carry_a_content_security_policy(client: httpx.AsyncClient) -> None:
    policy = (await client.get("/health")).headers["content-security-policy"]
    directives = dict(d.split(" ", 1) for d in policy.split("; "))
    assert directives["default-src"] == "'self'"
    assert "'unsafe-eval'" in directives["script-src"]
    assert "'unsafe-inline'" in directives["style-src"]
    assert directives["connect-src"] == "'self' ws: wss:"
    assert directives["frame-ancestors"] == "'none'"


async def test_cors_allows_only_configured_origins(client: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    allowed = await client.options(
        "/api/v1/login", headers={"Origin": "http://localhost:8000", **preflight}
    )
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:8000"
    other = await client.options(
        "/api/v1/login", headers={"Origin": "https://evil.example", **preflight}
    )
    assert "access-control-allow-origin" not in other.headers


async def test_no_password_token_or_link_reaches_the_logs(
    client: httpx.AsyncClient,
    app: Any,
    account: Account,
    mailbox: Mailbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from failcast.ops.logging import JsonFormatter

    with caplog.at_level(logging.DEBUG):
        tokens = (
            await client.post("/api/v1/login", json={"email": account.email, "password": PASSWORD})
        ).json()
        await client.post("/api/v1/token/refresh", json={"refresh_token": tokens["refresh_token"]})
        await client.post("/api/v1/password/forgot", json={"email": account.email})
        await delivered(app)
    link = mailbox.link(account.email, "/app/reset")
    text = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert caplog.records
    for secret in (PASSWORD, tokens["access_token"], tokens["refresh_token"], link.split("=")[1]):
        assert secret not in text
    assert json.loads(JsonFormatter().format(caplog.records[-1]))
