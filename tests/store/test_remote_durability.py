"""An acknowledged batch is in VictoriaMetrics even if the Failcast server dies right after."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import bearer, free_port
from metrics_engines import VictoriaMetrics, victoria_metrics

__all__ = ["victoria_metrics"]

pytestmark = pytest.mark.slow

BATCH = 500
BATCHES = 200


def batch(n: int, base_s: int) -> list[dict[str, Any]]:
    return [
        {"service": "load", "metric": f"m{i % 5}", "ts": base_s + n * BATCH + i, "value": float(i)}
        for i in range(BATCH)
    ]


@pytest.fixture
def server(tmp_path: Path, victoria_metrics: VictoriaMetrics) -> Iterator[Server]:
    """`failcast up` on the embedded SQL store with samples in VictoriaMetrics."""
    port = free_port()
    env = os.environ | {
        "FAILCAST_ENV": "development",
        "FAILCAST_DATA_DIR": str(tmp_path / "data"),
        "FAILCAST_METRICS_BACKEND": victoria_metrics.backend,
        "FAILCAST_PERIODIC_JOBS": "false",
        "FAILCAST_DASHBOARD_ENABLED": "false",
        "FAILCAST_LOG_LEVEL": "WARNING",
        "FAILCAST_ARGON2_TIME_COST": "1",
        "FAILCAST_ARGON2_MEMORY_COST": "1024",
    }
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "failcast.cli",
                "up",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        yield Server(f"http://127.0.0.1:{port}", process, log_path)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


async def api_key(http: httpx.AsyncClient, server: Server) -> str:
    deadline = time.monotonic() + 60
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get("/ready")).status_code == 200:
                break
        assert time.monotonic() < deadline, server.log.read_text()
        await asyncio.sleep(0.1)
    account = {"email": "k@example.com", "password": "a long passphrase", "org_name": "K"}
    token = (await http.post("/api/v1/register", json=account)).json()["access_token"]
    scopes = {"name": "load", "scopes": ["ingest", "read"]}
    answer = await http.post("/api/v1/api-keys", json=scopes, headers=bearer(token))
    key: str = answer.json()["key"]
    return key


async def test_a_sigkill_after_the_acknowledgement_loses_nothing(
    server: Server, victoria_metrics: VictoriaMetrics
) -> None:
    acknowledged: list[int] = []
    enough = asyncio.Event()
    base_s = int(time.time()) - BATCHES * BATCH - 60
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        key = await api_key(http, server)
        running = asyncio.Semaphore(4)

        async def send(n: int) -> None:
            # Four requests in flight at a time, so the kill lands in the middle of some.
            async with running:
                if server.process.poll() is not None:
                    return
                with contextlib.suppress(httpx.HTTPError):
                    answer = await http.post(
                        "/api/v1/metrics", json={"samples": batch(n, base_s)}, headers=bearer(key)
                    )
                    if answer.status_code == 200:
                        acknowledged.append(n)
                        if len(acknowledged) >= 10:
                            enough.set()

        async def kill_when_busy() -> None:
            await enough.wait()
            server.process.send_signal(signal.SIGKILL)

        await asyncio.gather(kill_when_busy(), *(send(n) for n in range(BATCHES)))
    assert 10 <= len(acknowledged) < BATCHES
    stored = victoria_metrics.export('{__name__=~"m[0-9]"}')
    timestamps = {t for series in stored for t in series["timestamps"]}
    for n in acknowledged:
        wanted = {(base_s + n * BATCH + i) * 1000 for i in range(BATCH)}
        assert wanted <= timestamps, f"batch {n} was acknowledged but is not stored"
