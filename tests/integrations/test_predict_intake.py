"""Telemetry from the two standard intakes reaches a prediction: OTLP metrics, and a real
Prometheus remote-writing what it scrapes. Each gets answers that differ from service to
service and rise when the cache's memory ramps towards its limit."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from _predict_fleet import SERVICES, fleet_history, install_model
from factories import Account, LiveServer, bearer, create_api_key, free_port, register
from fastapi import FastAPI
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric

from failcast.chaos.naming import MEMORY_BYTES
from failcast.chaos.signals import SeriesMatrix
from failcast.cli.simulate import sample_batches
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.deps import services_of
from failcast.timeutil import ms_to_datetime

PROMETHEUS = Path("/usr/bin/prometheus")
MEMORY = "process_resident_memory_bytes"
CUMULATIVE = 2  # OTLP AggregationTemporality


def otlp_requests(matrix: SeriesMatrix, chunk: int = 288) -> Iterator[bytes]:
    """The matrix as OTLP exports of `chunk` time steps each, named as an OpenTelemetry SDK
    would name them: a `_total` counter is a cumulative monotonic sum without the suffix."""
    ts_ns = (matrix.ts.astype(np.int64) * 1_000_000_000).tolist()  # seconds
    for lo in range(0, len(ts_ns), chunk):
        request = ExportMetricsServiceRequest()
        by_service: dict[str, object] = {}
        for (svc, metric), values in zip(matrix.series, matrix.values, strict=True):
            if svc not in by_service:
                resource = request.resource_metrics.add()
                attribute = resource.resource.attributes.add()
                attribute.key, attribute.value.string_value = "service.name", svc
                by_service[svc] = resource.scope_metrics.add().metrics
            metrics = by_service[svc]
            if metric.endswith("_total"):
                out = metrics.add(name=metric.removesuffix("_total").replace("_", "."))  # type: ignore[attr-defined]
                out.sum.is_monotonic = True
                out.sum.aggregation_temporality = CUMULATIVE
                points = out.sum.data_points
            else:
                out = metrics.add(name=metric.replace("_", "."))  # type: ignore[attr-defined]
                points = out.gauge.data_points
            for t, value in zip(ts_ns[lo : lo + chunk], values[lo : lo + chunk], strict=True):
                if value == value:
                    points.add(time_unix_nano=t, as_double=float(value))
        yield request.SerializeToString()


async def predicted(client: httpx.AsyncClient, account: Account) -> dict[str, float]:
    out = {}
    for name in SERVICES:
        answer = await client.post(
            "/api/v1/predict", json={"service": name}, headers=account.headers
        )
        assert answer.status_code == 200, answer.text
        out[name] = answer.json()["probabilities"]["24"]
    return out


async def declare_memory_limit(client: httpx.AsyncClient, account: Account) -> None:
    declared = await client.put(
        "/api/v1/metric-roles",
        json={"metric": MEMORY, "limit": MEMORY_BYTES},
        headers=account.headers,
    )
    assert declared.status_code == 200, declared.text


async def test_otlp_metrics_reach_predictions_that_rise_with_a_memory_ramp(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    end = int(time.time()) // 300 * 300
    answers = {}
    for leak in (False, True):
        account = await register(client, f"otlp-{leak}@example.com", f"OTLP {leak}")
        key = await create_api_key(client, account)
        for body in otlp_requests(fleet_history(end, leak=leak)):
            sent = await client.post(
                "/v1/metrics",
                content=body,
                headers={"Content-Type": "application/x-protobuf", "x-api-key": key},
            )
            assert sent.status_code == 200, sent.text
        await declare_memory_limit(client, account)
        await install_model(services_of(app).db, account.org_id, ms_to_datetime(end * 1000))
        answers[leak] = await predicted(client, account)
    quiet, ramped = answers[False], answers[True]
    assert len({round(p, 6) for p in quiet.values()}) > 1
    assert ramped["cache"] > quiet["cache"] + 0.05
    assert abs(ramped["database"] - quiet["database"]) < 0.02


class MemoryGauge:
    """An exporter collector of the cache's memory, one value per variant of the series."""

    def __init__(self, values: dict[str, float]) -> None:
        self.values = values

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(MEMORY, "Resident memory.", labels=["variant"])
        for variant, value in self.values.items():
            family.add_metric([variant], value)
        yield family


@contextmanager
def exporter(collector: MemoryGauge) -> Iterator[int]:
    registry = CollectorRegistry()
    registry.register(collector)  # type: ignore[arg-type]
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run_prometheus(
    tmp_path: Path, target: int, write_url: str, keys: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Prometheus scraping the exporter as job `cache` every second and remote-writing each
    variant of its memory series, under the labels it was imported with, with its own key."""
    writes = "".join(
        f"""
  - url: {write_url}
    basic_auth:
      username: prometheus
      password: {key}
    write_relabel_configs:
      - source_labels: [__name__, variant]
        regex: {MEMORY};{variant}
        action: keep
      - regex: variant
        action: labeldrop
    queue_config:
      batch_send_deadline: 1s
      min_backoff: 100ms
      max_backoff: 1s
"""
        for variant, key in keys.items()
    )
    config = tmp_path / "prometheus.yml"
    config.write_text(
        f"""
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: cache
    static_configs:
      - targets: ["127.0.0.1:{target}"]
remote_write:{writes}"""
    )
    log = (tmp_path / "prometheus.log").open("w")
    return subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{free_port()}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def wait_for_sample(http: httpx.Client, at_least: float, since: float) -> None:
    """Until Failcast holds a sample of the cache's memory of `at_least`, written since `since`."""
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        body = http.get("/api/v1/metrics", params={"metric": MEMORY, "start": since}).json()
        if any(p[1] >= at_least for s in body["series"] for p in s["points"]):
            return
        time.sleep(0.5)
    raise AssertionError(f"Prometheus wrote no {MEMORY} of {at_least} or more in time")


@pytest.mark.slow
@pytest.mark.skipif(not PROMETHEUS.exists(), reason="needs Prometheus at /usr/bin/prometheus")
def test_prometheus_remote_write_reaches_predictions_that_rise_with_a_memory_ramp(
    live_server: LiveServer, settings: Settings, tmp_path: Path
) -> None:
    # Remote write carries only what Prometheus scrapes from its start on, so the week before
    # is imported through the API, up to the current five-minute bucket; in that bucket the
    # cache's memory comes from Prometheus. Two orgs get the same fleet: in one the memory
    # stays level, in the other it has ramped for 30 hours and Prometheus reports where
    # the ramp has got to.
    now = int(time.time()) // 300 * 300
    histories = {"steady": fleet_history(now, leak=False), "ramp": fleet_history(now, leak=True)}
    latest = {v: float(h.get("cache", MEMORY)[-1]) for v, h in histories.items()}
    collector = MemoryGauge(latest)

    async def prepare(variant: str) -> tuple[Account, str]:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=60) as client:
            account = await register(client, f"{variant}@example.com", variant)
            key = await create_api_key(client, account)
            for batch in sample_batches(histories[variant]):
                for item in batch:
                    if (item["service"], item["metric"]) == ("cache", MEMORY):
                        item["labels"] = labels
                sent = await client.post(
                    "/api/v1/metrics", json={"samples": batch}, headers=bearer(key)
                )
                assert sent.status_code == 200, sent.text
            await declare_memory_limit(client, account)
        db = Database(settings)
        try:
            await install_model(db, account.org_id, ms_to_datetime(now * 1000))
        finally:
            await db.dispose()
        return account, key

    async def ask(account: Account) -> dict[str, float]:
        async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as client:
            return await predicted(client, account)

    with exporter(collector) as port:
        labels = {"instance": f"127.0.0.1:{port}"}
        orgs = {variant: asyncio.run(prepare(variant)) for variant in ("steady", "ramp")}
        process = run_prometheus(
            tmp_path,
            port,
            f"{live_server.url}/api/v1/prometheus/write",
            {variant: key for variant, (_, key) in orgs.items()},
        )
        since = time.time() - 1
        try:
            for variant, (_, key) in orgs.items():
                with httpx.Client(
                    base_url=live_server.url, headers=bearer(key), timeout=60
                ) as http:
                    wait_for_sample(http, latest[variant], since)
        finally:
            process.kill()
            process.wait(timeout=30)
    quiet = asyncio.run(ask(orgs["steady"][0]))
    ramped = asyncio.run(ask(orgs["ramp"][0]))
    assert len({round(p, 6) for p in quiet.values()}) > 1
    assert ramped["cache"] > quiet["cache"] + 0.05
    assert abs(ramped["database"] - quiet["database"]) < 0.02
