"""The same series sent to Prometheus and to Failcast: `/api/v1/series?match[]=` answers the
same for every selector."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from factories import Account, bearer, create_api_key, free_port

from failcast.integrations.remote_write import encode_write_request
from failcast.proto import remote_pb2

PROMETHEUS = Path("/usr/bin/prometheus")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not PROMETHEUS.exists(), reason="needs Prometheus at /usr/bin/prometheus"),
]

# The service and the job are the same, so Failcast's view of each series (which always
# carries `service` and `job`) is exactly the label set Prometheus stores.
SERIES: list[dict[str, str]] = [
    {"__name__": "http_requests_total", "job": "api", "path": "/v1/users", "code": "200"},
    {"__name__": "http_requests_total", "job": "api", "path": "/v1/orders", "code": "500"},
    {
        "__name__": "http_requests_total",
        "job": "api",
        "path": "/v2/users",
        "code": "200",
        "canary": "true",
    },
    {"__name__": "http_requests_total", "job": "web", "code": "404"},
    {"__name__": "http_requests_total", "job": "web"},
    {"__name__": "queue_depth", "job": "api", "path": "/v1/users"},
    {"__name__": "queue_depth", "job": "worker", "path": "/jobs\nnightly"},
]

SELECTORS = [
    "http_requests_total",
    '{__name__="http_requests_total", path="/v1/users"}',
    'http_requests_total{path=~"/v1/.*"}',
    'http_requests_total{path=~"/v1"}',
    'http_requests_total{path=~"users"}',
    'http_requests_total{path!~"/v1/.*"}',
    'http_requests_total{path=""}',
    'http_requests_total{path!=""}',
    'http_requests_total{path=~"/v1/.*|"}',
    'http_requests_total{code!="200"}',
    '{path=~".*users"}',
    '{path=~"/jobs.*"}',
    '{__name__=~"http_.*|queue_depth", code=~"2..|404"}',
    '{__name__=~"http_requests|queue"}',
    '{__name__!="http_requests_total", path!=""}',
    '{job="web"}',
    '{job=~"a.*", code="200"}',
    '{service="worker"}',
    '{canary="true"}',
    'http_requests_total{canary!="true", code=~"[45].."}',
    '{path=~"(?i)/V1/USERS"}',
    'queue_depth{job!~"api|web"}',
]


def _request(now_ms: int) -> bytes:
    request = remote_pb2.WriteRequest()
    for labels in SERIES:
        series = request.timeseries.add()
        for name, value in sorted({**labels, "service": labels["job"]}.items()):
            series.labels.add(name=name, value=value)
        series.samples.add(timestamp=now_ms, value=1.0)
    return encode_write_request(request)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[str]:
    """Prometheus on loopback that accepts remote writes; yields its URL."""
    port = free_port()
    log = (tmp_path / "prometheus.log").open("w")
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\n")
    process = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-remote-write-receiver",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, timeout=60) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if http.get("/-/ready").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "Prometheus did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.kill()
        process.wait(timeout=30)
        log.close()


def _canonical(data: list[dict[str, str]]) -> list[list[tuple[str, str]]]:
    # Failcast's own results (`failcast_*`) are series Prometheus does not have.
    return sorted(
        sorted(labels.items())
        for labels in data
        if not labels.get("__name__", "").startswith("failcast_")
    )


async def test_selectors_answer_as_prometheus_does(
    client: httpx.AsyncClient, account: Account, prometheus: str
) -> None:
    key = await create_api_key(client, account, ["ingest", "read"])
    body = _request(int(time.time() * 1000) - 10_000)
    headers = {
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    }
    written = await client.post(
        "/api/v1/prometheus/write", content=body, headers={**headers, **bearer(key)}
    )
    assert written.status_code == 204, written.text
    async with httpx.AsyncClient(base_url=prometheus, timeout=60) as peer:
        sent = await peer.post("/api/v1/write", content=body, headers=headers)
        assert sent.status_code == 204, sent.text
        differences = []
        for selector in SELECTORS:
            theirs = await peer.get("/api/v1/series", params={"match[]": selector})
            ours = await client.get(
                "/prometheus/api/v1/series", params={"match[]": selector}, headers=bearer(key)
            )
            assert theirs.status_code == 200, (selector, theirs.text)
            assert ours.status_code == 200, (selector, ours.text)
            expected = _canonical(theirs.json()["data"])
            if _canonical(ours.json()["data"]) != expected:
                differences.append((selector, expected, _canonical(ours.json()["data"])))
        assert expected, "the last selector should select something in Prometheus"
    assert differences == []
