"""Real metrics engines for the tests (VictoriaMetrics, Prometheus): own port and storage, per test.
Test modules import these fixtures by name."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import free_port
from fastapi import FastAPI

from failcast.config import Settings
from failcast.deps import services_of

VICTORIA_METRICS = Path("/usr/bin/victoria-metrics")


@dataclass
class VictoriaMetrics:
    """A running single-node VictoriaMetrics."""

    port: int
    storage: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def backend(self) -> str:
        return f"victoriametrics://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(VICTORIA_METRICS),
                    f"-storageDataPath={self.storage}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    # Test data is stamped anywhere in the last months.
                    "-retentionPeriod=100y",
                    "-loggerLevel=ERROR",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/health", timeout=1).is_success:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"VictoriaMetrics did not start: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def flush(self) -> None:
        """Make what was written searchable now (VictoriaMetrics buffers about a second)."""
        httpx.get(f"{self.url}/internal/force_flush", timeout=10).raise_for_status()

    def export(self, match: str) -> list[dict[str, Any]]:
        """Every series matching `match`, with its raw samples."""
        self.flush()
        answer = httpx.post(f"{self.url}/api/v1/export", data={"match[]": match}, timeout=10)
        answer.raise_for_status()
        return [json.loads(line) for line in answer.text.splitlines() if line.strip()]


@pytest.fixture
def victoria_metrics(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    if not VICTORIA_METRICS.exists():
        pytest.skip("needs VictoriaMetrics at /usr/bin/victoria-metrics")
    engine = VictoriaMetrics(free_port(), tmp_path / "vm-data", tmp_path / "vm.log")
    engine.start()
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def remote_settings(settings: Settings, victoria_metrics: VictoriaMetrics) -> Settings:
    """The test store's settings with samples in VictoriaMetrics."""
    return settings.model_copy(update={"metrics_backend": victoria_metrics.backend})


class FlushAfterWrite(httpx.AsyncBaseTransport):
    """Makes every acknowledged remote_write searchable at once, so that a test can read back
    what it has just written."""

    def __init__(self, flush_url: str) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._flush_url = flush_url
        self.writes = 0  # remote writes the engine acknowledged

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        if response.status_code < 300 and request.url.path.endswith("/api/v1/write"):
            self.writes += 1
            flushed = await self._inner.handle_async_request(httpx.Request("GET", self._flush_url))
            await flushed.aread()
            await flushed.aclose()
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.fixture
async def flushing(app: FastAPI, victoria_metrics: VictoriaMetrics) -> FlushAfterWrite:
    """The app's writes to VictoriaMetrics are searchable as soon as they are acknowledged."""
    metrics = services_of(app).db.metrics
    assert metrics is not None
    await metrics.client.aclose()
    transport = FlushAfterWrite(f"{victoria_metrics.url}/internal/force_flush")
    metrics.client = metrics.queries.client = httpx.AsyncClient(transport=transport, timeout=10)
    return transport


PROMETHEUS = Path("/usr/bin/prometheus")


@pytest.fixture
def prometheus_backend(tmp_path: Path) -> Iterator[str]:
    """Prometheus with its remote-write receiver on a free port; yields the backend URL."""
    if not PROMETHEUS.exists():
        pytest.skip("needs Prometheus at /usr/bin/prometheus")
    port = free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1h\n")
    with (tmp_path / "prometheus.log").open("wb") as log:
        process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'prometheus'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--web.enable-remote-write-receiver",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/-/ready", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "prometheus.log").read_text()[-2000:])
            time.sleep(0.1)
        yield f"prometheus://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=30)
