"""Factories that create accounts and keys through the public API."""

from __future__ import annotations

import email as email_parser
import email.message
import email.policy
import re
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from failcast.config import Settings
from failcast.deps import services_of


@dataclass
class Account:
    """A registered user with an org, and the headers that act as them."""

    user_id: int
    org_id: int
    email: str
    token: str
    refresh_token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


PASSWORD = "correct horse battery staple"


async def register(client: httpx.AsyncClient, email: str, org_name: str = "Acme") -> Account:
    response = await client.post(
        "/api/v1/register", json={"email": email, "password": PASSWORD, "org_name": org_name}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Account(
        body["user"]["id"], body["org"]["id"], email, body["access_token"], body["refresh_token"]
    )


async def create_api_key(
    client: httpx.AsyncClient, account: Account, scopes: list[str] | None = None
) -> str:
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "test key", "scopes": scopes or ["ingest", "read"]},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    key: str = response.json()["key"]
    return key


@asynccontextmanager
async def started(app: FastAPI) -> AsyncIterator[FastAPI]:
    """Run an app's startup and shutdown, with room for a loaded machine.

    asgi-lifespan gives startup five seconds, which migrations and the first
    scheduler round can overrun while the rest of the suite runs alongside.
    """
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60):
        yield app


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    return await client.post("/api/v1/login", json={"email": email, "password": password, **extra})


class FakeClock:
    """A clock tests move by hand; it starts at the real time so JWTs and it agree."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: Any) -> FakeClock:
    """Drive the app's accounts clock (lockouts, rate limits, links, sessions) by hand."""
    fake = FakeClock()
    services_of(app).security.clock = fake
    return fake


@dataclass
class Mailbox:
    """A real SMTP server on 127.0.0.1 that keeps every message it receives."""

    port: int
    messages: list[email.message.EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email_parser.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def link(self, address: str, path: str) -> str:
        """The newest link to `path` mailed to `address`, taken from the text part."""
        for message in reversed(self.to(address)):
            body = message.get_body(preferencelist=("plain",))
            assert body is not None
            found = re.findall(rf"https?://\S+{re.escape(path)}\S*", body.get_content())
            if found:
                return str(found[-1])
        raise AssertionError(f"no mail to {address} with a link to {path}")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_mailbox() -> Iterator[Mailbox]:
    from aiosmtpd.controller import Controller

    box = Mailbox(_free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A capturing SMTP server on a free loopback port."""
    with running_mailbox() as box:
        yield box


def mail_to(settings: Any, box: Mailbox) -> Any:
    """`settings` sending mail to `box`."""
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": box.port, "smtp_starttls": False}
    )


@pytest.fixture
def mailbox(app: Any) -> Iterator[Mailbox]:
    """The app's outgoing mail, captured by a real SMTP server."""
    from failcast.auth.mailer import Mailer

    with running_mailbox() as box:
        services_of(app).security.mailer = Mailer(mail_to(services_of(app).settings, box))
        yield box


async def delivered(app: Any) -> None:
    """Wait until queued mail (and any other submitted task) has been handed over."""
    await services_of(app).runner.drain()


async def add_member(
    client: httpx.AsyncClient,
    app: Any,
    box: Mailbox,
    admin: Account,
    email: str,
    role: str,
) -> Account:
    """Invite `email` with `role` as `admin`, then register through the mailed link."""
    invited = await client.post(
        "/api/v1/orgs/current/invitations",
        json={"email": email, "role": role},
        headers=admin.headers,
    )
    assert invited.status_code == 201, invited.text
    await delivered(app)
    token = box.link(email, "/app/invite?token=").rsplit("token=", 1)[1]
    response = await client.post(
        "/api/v1/invitations/register", json={"token": token, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    me = (await client.get("/api/v1/profile", headers=bearer(body["access_token"]))).json()
    return Account(
        me["user"]["id"], admin.org_id, email, body["access_token"], body["refresh_token"]
    )


TEST_SETTINGS: dict[str, Any] = {
    "env": "test",
    "secret_key": "test-secret-key-that-is-long-enough-0123456789",
    "argon2_time_cost": 1,
    "argon2_memory_cost": 1024,
    "log_json": False,
    "run_migrations_on_start": False,
    "sqlite_synchronous": "NORMAL",
    # Tests run periodic jobs themselves, at the times they choose; timers on the real clock
    # would race them.
    "periodic_jobs": False,
    # Receivers, mail servers and scrape targets in tests listen on loopback; the operator's
    # allowlist admits them as it would a private receiver (tests/test_egress.py runs without).
    "outbound_allowed_networks": ["127.0.0.0/8"],
}


def make_settings(**overrides: Any) -> Settings:
    return Settings(**(TEST_SETTINGS | overrides))


@dataclass
class LiveServer:
    """A real uvicorn server on a loopback port, for clients that speak HTTP over sockets."""

    url: str
    app: FastAPI


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The app under uvicorn on a loopback port, configured as the CLI configures it."""
    import uvicorn

    from failcast.app import create_app
    from failcast.cli.server import server_options

    port = free_port()
    options = server_options(settings, "127.0.0.1")
    config = uvicorn.Config(create_app(settings), port=port, lifespan="on", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@asynccontextmanager
async def serving_in_loop(settings: Settings) -> AsyncIterator[tuple[str, FastAPI]]:
    """The app under uvicorn in the running test's own event loop (so the test can also call
    its jobs and write to its store as they do); yields the URL and the app."""
    import asyncio

    import uvicorn

    from failcast.app import create_app

    application = create_app(settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_config=None, lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            raise RuntimeError("the test server did not start")
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", application
    finally:
        server.should_exit = True
        await task
