"""The query API answers as Prometheus does: a real Prometheus scrapes an exporter and
remote-writes to Failcast, and the same queries go to both."""

from __future__ import annotations

import math
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import LiveServer, bearer, free_port
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

PROMETHEUS = Path("/usr/bin/prometheus")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PROMETHEUS.exists(), reason="needs Prometheus at /usr/bin/prometheus"),
]

QUERIES = [
    "peer_temperature_celsius",
    'peer_temperature_celsius{room=~"lab|hall", room!="attic"}',
    "rate(peer_requests_total[10s])",
    "increase(peer_requests_total[10s])",
    "sum by (code) (rate(peer_requests_total[10s]))",
    "sum(rate(peer_requests_total[10s]))",
    "avg_over_time(peer_temperature_celsius[5s])",
    "max_over_time(peer_temperature_celsius[5s]) - min_over_time(peer_temperature_celsius[5s])",
    "peer_temperature_celsius * 2 + 1",
    "peer_temperature_celsius > 20",
    "count(peer_temperature_celsius)",
    "avg by (room) (peer_temperature_celsius)",
    "histogram_quantile(0.9, sum by (le) (rate(peer_latency_seconds_bucket[10s])))",
    'rate(peer_requests_total{code="200"}[10s])'
    ' / ignoring(code) rate(peer_requests_total{code="500"}[10s])',
    "topk(1, peer_temperature_celsius)",
]


@pytest.fixture
def exporter() -> Iterator[int]:
    """Gauges, a counter and a histogram that change every 200 ms."""
    registry = CollectorRegistry()
    temperature = Gauge("peer_temperature_celsius", "Temperature.", ["room"], registry=registry)
    requests = Counter("peer_requests", "Requests.", ["code"], registry=registry)
    latency = Histogram(
        "peer_latency_seconds", "Latency.", buckets=(0.05, 0.1, 0.25, 0.5, 1.0), registry=registry
    )
    stop = threading.Event()
    rng = random.Random(3)

    def churn() -> None:
        while not stop.is_set():
            temperature.labels("lab").set(20 + rng.random() * 3)
            temperature.labels("hall").set(18 + rng.random() * 4)
            requests.labels("200").inc(rng.randint(1, 20))
            requests.labels("500").inc(rng.randint(1, 3))
            for _ in range(5):
                latency.observe(rng.expovariate(8.0))
            stop.wait(0.2)

    worker = threading.Thread(target=churn, daemon=True)
    worker.start()
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield server.server_port
    finally:
        stop.set()
        worker.join(timeout=5)
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
def prometheus(tmp_path: Path, live_server: LiveServer, exporter: int) -> Iterator[tuple[str, str]]:
    """(Prometheus' URL, the API key it remote-writes with)."""
    key = api_key(live_server.url)
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: peer
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
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield f"http://127.0.0.1:{port}", key
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


def _series(body: dict[str, Any]) -> dict[tuple[tuple[str, str], ...], dict[float, float]]:
    assert body["status"] == "success", body
    out = {}
    for item in body["data"]["result"]:
        labels = {k: v for k, v in item["metric"].items() if k != "service"}
        out[tuple(sorted(labels.items()))] = {float(t): float(v) for t, v in item["values"]}
    return out


def test_query_range_answers_what_prometheus_answers(
    live_server: LiveServer, prometheus: tuple[str, str]
) -> None:
    prom_url, key = prometheus
    failcast = httpx.Client(
        base_url=live_server.url + "/prometheus", auth=("grafana", key), timeout=60
    )
    prom = httpx.Client(base_url=prom_url, timeout=60)
    # Wait for 25 s of data in both.
    deadline = time.monotonic() + 120
    first: float | None = None
    while time.monotonic() < deadline:
        body = failcast.get("/api/v1/query", params={"query": "peer_requests_total"}).json()
        if body["status"] == "success" and body["data"]["result"]:
            first = first or time.time()
            if time.time() - first > 25:
                break
        time.sleep(0.5)
    assert first is not None, "Prometheus sent nothing to Failcast"
    end = math.floor(time.time()) - 4  # remote_write lags its scrapes by about a second
    params = {"start": end - 15, "end": end, "step": "1"}
    compared = 0
    for query in QUERIES:
        ours = failcast.post("/api/v1/query_range", data={"query": query, **params})
        assert ours.status_code == 200, (query, ours.text)
        theirs = prom.get("/api/v1/query_range", params={"query": query, **params})
        assert theirs.status_code == 200, (query, theirs.text)
        mine, reference = _series(ours.json()), _series(theirs.json())
        assert mine.keys() == reference.keys(), query
        for labels, points in reference.items():
            assert mine[labels].keys() == points.keys(), (query, labels)
            for t, value in points.items():
                assert mine[labels][t] == pytest.approx(value, rel=1e-9, abs=1e-12), (query, t)
                compared += 1
    assert compared > 200
