"""Side by side with the real Prometheus: it scrapes an exporter and remote-writes to Failcast."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from factories import LiveServer, bearer, free_port
from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

PROMETHEUS = Path("/usr/bin/prometheus")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PROMETHEUS.exists(), reason="needs Prometheus at /usr/bin/prometheus"),
]


@pytest.fixture
def exporter() -> Iterator[int]:
    registry = CollectorRegistry()
    Gauge("peer_temperature_celsius", "Room temperature.", ["room"], registry=registry).labels(
        "lab"
    ).set(21.5)
    Counter("peer_jobs", "Jobs finished.", registry=registry).inc(7)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def api_key(url: str) -> str:
    with httpx.Client(base_url=url, timeout=60) as http:
        token = http.post(
            "/api/v1/register",
            json={"email": "peer@example.com", "password": "a long passphrase", "org_name": "P"},
        ).json()["access_token"]
        key: str = http.post(
            "/api/v1/api-keys",
            json={"name": "prometheus", "scopes": ["ingest", "read"]},
            headers=bearer(token),
        ).json()["key"]
        return key


@pytest.fixture
def prometheus(tmp_path: Path, live_server: LiveServer, exporter: int) -> Iterator[str]:
    """Prometheus on loopback, scraping the exporter every second and remote-writing to the
    live Failcast with basic auth; yields the API key it writes with."""
    key = api_key(live_server.url)
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: peer-exporter
    static_configs:
      - targets: ["127.0.0.1:{exporter}"]
remote_write:
  - url: {live_server.url}/api/v1/prometheus/write
    basic_auth:
      username: prometheus
      password: {key}
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
"""
    )
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{free_port()}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield key
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


def test_prometheus_remote_writes_what_it_scrapes(
    live_server: LiveServer, exporter: int, prometheus: str
) -> None:
    instance = f"127.0.0.1:{exporter}"
    found: dict[str, list[dict[str, object]]] = {}
    deadline = time.monotonic() + 90
    with httpx.Client(base_url=live_server.url, headers=bearer(prometheus), timeout=60) as http:
        while time.monotonic() < deadline:
            for metric in ("peer_temperature_celsius", "peer_jobs_total", "up"):
                body = http.get("/api/v1/metrics", params={"metric": metric}).json()
                found[metric] = body["series"]
            if all(found.values()):
                break
            time.sleep(0.5)
    assert all(found.values()), f"Prometheus sent nothing in time: {found}"
    [temperature] = found["peer_temperature_celsius"]
    assert temperature["service"] == "peer-exporter"
    assert temperature["labels"] == {"instance": instance, "room": "lab"}
    assert {point[1] for point in temperature["points"]} == {21.5}  # type: ignore[attr-defined]
    [jobs] = found["peer_jobs_total"]
    assert {point[1] for point in jobs["points"]} == {7.0}  # type: ignore[attr-defined]
    [up] = found["up"]
    assert up["service"] == "peer-exporter" and up["labels"] == {"instance": instance}
