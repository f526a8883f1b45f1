from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from _helpers import series_points
from factories import Account, bearer
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from failcast.deps import services_of
from failcast.integrations.scrape import scrape_due_targets

TARGETS = "/api/v1/scrape-targets"


@pytest.fixture
def exporter() -> Iterator[str]:
    """A real prometheus_client exporter on a loopback port, with known values."""
    registry = CollectorRegistry()
    Gauge("queue_depth", "Jobs waiting.", ["queue"], registry=registry).labels("mail").set(7)
    Counter("jobs_done", "Jobs finished.", registry=registry).inc(42)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def slow_server() -> Iterator[str]:
    """Answers only after the scraper has given up."""
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(10)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
async def no_timer(app: FastAPI) -> None:
    """Stop the periodic scrape job, so that only the test decides when targets are pulled."""
    await services_of(app).runner.stop()


async def scrape_now(app: FastAPI, now: datetime | None = None) -> int:
    state = services_of(app)
    results = await scrape_due_targets(state.db, state.ingestor, state.settings, now=now)
    return len(results)


async def test_a_target_is_scraped_when_due_and_its_health_recorded(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str, exporter: str
) -> None:
    created = await client.post(
        TARGETS,
        json={
            "service": "worker",
            "url": exporter,
            "interval": 30,
            "timeout": 5,
            "labels": {"env": "prod"},
        },
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    target = created.json()
    assert target["up"] is None and target["last_scrape_at"] is None

    assert await scrape_now(app) == 1
    # Pulled once: not due again until the interval has passed.
    assert await scrape_now(app) == 0
    later = datetime.now(UTC) + timedelta(seconds=31)
    assert await scrape_now(app, now=later) == 1

    target = (await client.get(f"{TARGETS}/{target['id']}", headers=bearer(api_key))).json()
    assert target["up"] is True
    assert target["last_error"] is None
    assert target["last_samples"] == 2  # queue_depth and jobs_done_total; _created is metadata
    assert 0 < target["last_duration_seconds"] < 5

    instance = exporter.split("/")[2]
    queue = await series_points(client, api_key, "queue_depth", service="worker")
    assert list(queue) == [("worker", (("env", "prod"), ("instance", instance), ("queue", "mail")))]
    assert [p[1] for p in next(iter(queue.values()))] == [7.0, 7.0]
    done = await series_points(client, api_key, "jobs_done_total", service="worker")
    assert [p[1] for p in next(iter(done.values()))] == [42.0, 42.0]
    assert await series_points(client, api_key, "jobs_done_created", service="worker") == {}
    up = await series_points(client, api_key, "up", service="worker")
    assert [p[1] for p in next(iter(up.values()))] == [1.0, 1.0]


async def test_unreachable_and_slow_targets_are_marked_down(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str, slow_server: str
) -> None:
    closed = httpx.URL(slow_server).copy_with(port=1).__str__()
    for url, timeout in ((slow_server, 0.3), (closed, 2)):
        response = await client.post(
            TARGETS,
            json={"service": "flaky", "url": url, "interval": 10, "timeout": timeout},
            headers=account.headers,
        )
        assert response.status_code == 201
    assert await scrape_now(app) == 2
    targets = {t["url"]: t for t in (await client.get(TARGETS, headers=bearer(api_key))).json()}
    assert targets[slow_server]["up"] is False
    assert targets[slow_server]["last_error"] == "timed out after 0.3 s"
    assert targets[closed]["up"] is False
    # Why the connection failed is not said: the target list is no port scanner.
    assert targets[closed]["last_error"] == "connection failed"
    up = await series_points(client, api_key, "up", service="flaky")
    assert sorted(p[0][1] for p in up.values()) == [0.0, 0.0]


async def test_crud_is_tenant_scoped_and_validated(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    body = {"service": "db", "url": "http://127.0.0.1:9187/metrics", "interval": 15}
    first = await client.post(TARGETS, json=body, headers=account.headers)
    assert first.status_code == 201
    assert (await client.post(TARGETS, json=body, headers=account.headers)).status_code == 409
    # An ingest+read key may look but not change.
    assert (await client.post(TARGETS, json=body, headers=bearer(api_key))).status_code == 403
    bad = await client.post(
        TARGETS, json=body | {"url": "ftp://x", "timeout": 60}, headers=account.headers
    )
    assert bad.status_code == 422
    target_id = first.json()["id"]
    patched = await client.patch(
        f"{TARGETS}/{target_id}", json={"interval": 60, "enabled": False}, headers=account.headers
    )
    assert patched.json()["interval"] == 60 and patched.json()["enabled"] is False
    too_slow = await client.patch(
        f"{TARGETS}/{target_id}", json={"timeout": 120}, headers=account.headers
    )
    assert too_slow.status_code == 422

    from factories import register

    other = await register(client, "other@example.com", "Other")
    assert (await client.get(f"{TARGETS}/{target_id}", headers=other.headers)).status_code == 404
    assert (await client.get(TARGETS, headers=other.headers)).json() == []
    assert (await client.delete(f"{TARGETS}/{target_id}", headers=other.headers)).status_code == 404
    assert (
        await client.delete(f"{TARGETS}/{target_id}", headers=account.headers)
    ).status_code == 204
    assert (await client.get(TARGETS, headers=account.headers)).json() == []
