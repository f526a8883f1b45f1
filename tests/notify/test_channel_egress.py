"""Notification channels cannot reach internal addresses, and a channel test is no port
scanner: it says "delivered" or "delivery failed", with the receiver's status at most."""

from __future__ import annotations

import asyncio
import ipaddress
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from factories import Account
from fastapi import FastAPI
from receivers import HttpReceiver, SmtpReceiver, free_port, receiver, smtp

from failcast.config import Settings
from failcast.deps import services_of
from failcast.egress import EgressPolicy

__all__ = ["receiver", "smtp"]  # fixtures

SECRET = "0123456789abcdef-secret"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # As shipped: no network allowed beyond the public internet.
    return settings.model_copy(update={"outbound_allowed_networks": []})


class FakeDns:
    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def __call__(self, host: str, port: int) -> list[tuple[int, str]]:
        return [(2, self.names[host])]


def use_policy(app: FastAPI, policy: EgressPolicy) -> None:
    services_of(app).egress = policy
    services_of(app).notifier.egress = policy


async def _create(
    client: httpx.AsyncClient, account: Account, kind: str, config: dict[str, object]
) -> httpx.Response:
    return await client.post(
        "/api/v1/channels",
        json={"name": f"{kind}-{uuid.uuid4().hex[:8]}", "kind": kind, "config": config},
        headers=account.headers,
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://localhost:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/latest/meta-data/",
        "http://0.0.0.0:8000/",
        "http://[::1]:9090/",
        "http://10.0.0.8/hook",
    ],
)
async def test_internal_urls_are_refused_when_a_channel_is_saved(
    client: httpx.AsyncClient, account: Account, url: str
) -> None:
    for kind, config in (
        ("webhook", {"url": url, "secret": SECRET}),
        ("slack", {"url": url}),
        ("pagerduty", {"routing_key": "K", "url": url}),
        ("alertmanager", {"urls": ["https://am.example.com", url]}),
    ):
        response = await _create(client, account, kind, config)
        assert response.status_code == 422, (kind, url, response.text)
        field = "config.urls.1" if kind == "alertmanager" else "config.url"
        assert response.json()["detail"][0]["field"] == field
    assert (await client.get("/api/v1/channels", headers=account.headers)).json() == []


async def test_internal_mail_servers_are_refused_when_a_channel_is_saved(
    client: httpx.AsyncClient, account: Account
) -> None:
    for host in ("127.0.0.1", "localhost", "169.254.169.254", "::1"):
        response = await _create(
            client,
            account,
            "email",
            {"host": host, "port": 25, "sender": "fc@example.com", "to": ["a@example.com"]},
        )
        assert response.status_code == 422, host
        assert response.json()["detail"][0]["field"] == "config.host"


async def test_a_name_that_resolves_inside_is_refused_when_delivering(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    receiver: HttpReceiver,
    smtp: SmtpReceiver,
) -> None:
    port = int(receiver.url.rsplit(":", 1)[1])
    use_policy(app, EgressPolicy(resolver=FakeDns({"hooks.example.com": "127.0.0.1"})))
    hook = await _create(
        client, account, "webhook", {"url": f"http://hooks.example.com:{port}/", "secret": SECRET}
    )
    mail = await _create(
        client,
        account,
        "email",
        {
            "host": "hooks.example.com",
            "port": smtp.port,
            "sender": "fc@example.com",
            "to": ["a@example.com"],
        },
    )
    am = await _create(
        client, account, "alertmanager", {"urls": [f"http://hooks.example.com:{port}"]}
    )
    for created in (hook, mail, am):
        assert created.status_code == 201, created.text
        tested = await client.post(
            f"/api/v1/channels/{created.json()['id']}/test", headers=account.headers
        )
        assert tested.json() == {
            "delivered": False,
            "result": "delivery failed: destination not allowed",
        }
    assert receiver.requests == [] and smtp.messages == []


@pytest.fixture
async def silent_port() -> AsyncIterator[int]:
    """A port that accepts connections and closes them without a word (no HTTP)."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def test_a_channel_test_tells_nothing_about_the_port_it_reached(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    receiver: HttpReceiver,
    silent_port: int,
) -> None:
    # Loopback allowed, as for a private receiver, so that connections are really attempted.
    use_policy(app, EgressPolicy((ipaddress.ip_network("127.0.0.0/8"),)))
    closed = free_port()
    answers = {}
    for name, port in (("closed", closed), ("silent", silent_port)):
        created = await _create(
            client, account, "slack", {"url": f"http://127.0.0.1:{port}/{name}"}
        )
        channel_id = created.json()["id"]
        tested = await client.post(f"/api/v1/channels/{channel_id}/test", headers=account.headers)
        log = await client.get(f"/api/v1/channels/{channel_id}/deliveries", headers=account.headers)
        answers[name] = (tested.json(), [(d["status_code"], d["error"]) for d in log.json()])
    # A refused connection and a port that hangs up look the same.
    assert answers["closed"] == answers["silent"]
    assert answers["closed"] == (
        {"delivered": False, "result": "delivery failed"},
        [(None, "delivery failed")],
    )
    receiver.status = 503
    failing = await _create(client, account, "slack", {"url": f"{receiver.url}/busy"})
    tested = await client.post(
        f"/api/v1/channels/{failing.json()['id']}/test", headers=account.headers
    )
    # A receiver that answers has its status reported, never its body.
    assert tested.json() == {"delivered": False, "result": "delivery failed: HTTP 503"}
    receiver.status = 200
    working = await _create(client, account, "slack", {"url": f"{receiver.url}/ok"})
    tested = await client.post(
        f"/api/v1/channels/{working.json()['id']}/test", headers=account.headers
    )
    assert tested.json() == {"delivered": True, "result": "delivered"}
