"""A scrape target cannot be aimed at an internal endpoint to read its body back as metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from factories import Account, bearer, create_api_key
from fastapi import FastAPI

from failcast.config import Settings
from failcast.deps import services_of
from failcast.egress import EgressPolicy
from failcast.integrations.scrape import NOT_ALLOWED, scrape_due_targets

TARGETS = "/api/v1/scrape-targets"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"outbound_allowed_networks": []})


@pytest.fixture(autouse=True)
async def no_timer(app: FastAPI) -> None:
    await services_of(app).runner.stop()


@pytest.fixture
def internal_endpoint() -> Iterator[tuple[int, list[str]]]:
    """An internal service on loopback whose answer happens to parse as metrics."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b"internal_secret 42\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port, seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


async def test_internal_target_urls_are_refused(
    client: httpx.AsyncClient, account: Account, internal_endpoint: tuple[int, list[str]]
) -> None:
    port, _ = internal_endpoint
    for url in (
        f"http://127.0.0.1:{port}/metrics",
        "http://localhost:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0:5432/",
    ):
        response = await client.post(
            TARGETS, json={"service": "db", "url": url}, headers=account.headers
        )
        assert response.status_code == 422, (url, response.text)
        assert response.json()["detail"][0]["field"] == "url"


async def test_a_name_resolving_inside_is_never_scraped(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    internal_endpoint: tuple[int, list[str]],
) -> None:
    port, seen = internal_endpoint

    async def dns(host: str, _: int) -> list[tuple[int, str]]:
        return [(2, "127.0.0.1")]

    policy = EgressPolicy(resolver=dns)
    services_of(app).egress = policy
    created = await client.post(
        TARGETS,
        json={"service": "exporter", "url": f"http://exporter.example.com:{port}/metrics"},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    state = services_of(app)
    later = datetime.now(UTC) + timedelta(seconds=1)
    [result] = await scrape_due_targets(
        state.db, state.ingestor, state.settings, now=later, egress=policy
    )
    assert result.error == NOT_ALLOWED
    assert seen == []
    target = (await client.get(TARGETS, headers=account.headers)).json()[0]
    assert (target["up"], target["last_error"]) == (False, NOT_ALLOWED)
    key = await create_api_key(client, account, ["read"])
    stored = await client.get(
        "/api/v1/metrics",
        params={"service": "exporter", "metric": "internal_secret"},
        headers=bearer(key),
    )
    assert stored.status_code == 200
    assert stored.json()["series"] == []
