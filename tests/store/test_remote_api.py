"""The public API over VictoriaMetrics: ingest lands there, and the metric query API,
detectors, SLOs and predictions work as they do on the embedded store. Several tests are the
embedded store's own, run again here against the engine."""

from __future__ import annotations

import time

import httpx
import pytest
from detect.test_detect_api import (
    no_timers,
    test_a_live_series_runs_the_detector_chosen_for_its_metric,
)
from detect.test_live import test_live_scoring_gives_the_scores_failcast_score_gives
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI
from health.test_health_api import test_scores_equal_the_hand_calculation
from ingest.test_metrics_ingest import test_thousand_samples_round_trip_with_step_aggregation
from integrations.test_exporter import test_health_scores_and_sample_counts_are_exposed
from metrics_engines import FlushAfterWrite, VictoriaMetrics, flushing, victoria_metrics
from predict.test_predict_api import test_training_from_the_database_reads_metrics_and_incidents
from promql.test_grafana_dashboard import (
    test_every_dashboard_panel_has_data_through_the_query_api,
    test_the_exporter_serves_every_result,
)
from slo.test_slo_api import test_status_from_throughput_and_error_rate
from sqlalchemy import func, select

from failcast.chaos.demo import has_samples
from failcast.config import Settings
from failcast.deps import services_of
from failcast.integrations.remote_write import encode_write_request
from failcast.models import Sample, Series
from failcast.proto import remote_pb2

__all__ = [
    "flushing",
    "no_timers",
    "test_a_live_series_runs_the_detector_chosen_for_its_metric",
    "test_every_dashboard_panel_has_data_through_the_query_api",
    "test_health_scores_and_sample_counts_are_exposed",
    "test_live_scoring_gives_the_scores_failcast_score_gives",
    "test_scores_equal_the_hand_calculation",
    "test_status_from_throughput_and_error_rate",
    "test_the_exporter_serves_every_result",
    "test_thousand_samples_round_trip_with_step_aggregation",
    "test_training_from_the_database_reads_metrics_and_incidents",
    "victoria_metrics",
]

pytestmark = pytest.mark.usefixtures("flushing")


@pytest.fixture
def settings(settings: Settings, victoria_metrics: VictoriaMetrics) -> Settings:
    return settings.model_copy(update={"metrics_backend": victoria_metrics.backend})


def sample(service: str, value: float, ts: float, **labels: str) -> dict[str, object]:
    return {"service": service, "metric": "latency_ms", "labels": labels, "ts": ts, "value": value}


async def sql_samples(app: FastAPI) -> int:
    async with services_of(app).db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(Sample)) or 0)


async def test_remote_write_intake_lands_in_the_engine(
    app: FastAPI,
    client: httpx.AsyncClient,
    api_key: str,
    victoria_metrics: VictoriaMetrics,
) -> None:
    now = int(time.time() * 1000) - 60_000
    request = remote_pb2.WriteRequest()
    series = request.timeseries.add()
    for name, value in [("__name__", "cpu_pct"), ("instance", "a:1"), ("job", "node")]:
        series.labels.add(name=name, value=value)
    series.samples.add(timestamp=now, value=42.0)
    series.samples.add(timestamp=now + 15_000, value=43.5)
    response = await client.post(
        "/api/v1/prometheus/write",
        content=encode_write_request(request),
        headers={"Content-Encoding": "snappy"} | bearer(api_key),
    )
    assert response.status_code == 204, response.text
    [stored] = victoria_metrics.export('{__name__="cpu_pct"}')
    assert stored["metric"]["service"] == "node" and stored["metric"]["instance"] == "a:1"
    assert stored["values"] == [42.0, 43.5]
    assert stored["timestamps"] == [now, now + 15_000]
    answer = await client.get(
        "/api/v1/metrics",
        params={"metric": "cpu_pct", "start": now / 1000 - 1},
        headers=bearer(api_key),
    )
    [found] = answer.json()["series"]
    assert found["points"] == [[now / 1000, 42.0], [now / 1000 + 15, 43.5]]
    assert await sql_samples(app) == 0


async def test_a_remote_write_larger_than_a_transaction_reaches_the_engine_whole(
    app: FastAPI,
    client: httpx.AsyncClient,
    api_key: str,
    settings: Settings,
    victoria_metrics: VictoriaMetrics,
    flushing: FlushAfterWrite,
) -> None:
    # 12,000 samples: the embedded store would take them in two transactions (its
    # max_batch_samples); the engine takes them in one remote write.
    assert settings.max_batch_samples < 12_000
    now = int(time.time() * 1000) - 4_000_000
    request = remote_pb2.WriteRequest()
    for host in ("a", "b", "c"):
        series = request.timeseries.add()
        for name, value in [("__name__", "mem_pct"), ("instance", host), ("job", "node")]:
            series.labels.add(name=name, value=value)
        for i in range(4000):
            series.samples.add(timestamp=now + i * 1000, value=float(i % 7))
    before = flushing.writes
    response = await client.post(
        "/api/v1/prometheus/write",
        content=encode_write_request(request),
        headers={"Content-Encoding": "snappy"} | bearer(api_key),
    )
    assert response.status_code == 204, response.text
    assert response.headers["X-Failcast-Accepted"] == "12000"
    assert flushing.writes - before == 1
    stored = victoria_metrics.export('{__name__="mem_pct"}')
    assert sorted(s["metric"]["instance"] for s in stored) == ["a", "b", "c"]
    assert all(s["values"] == [float(i % 7) for i in range(4000)] for s in stored)


async def test_orgs_never_see_each_others_samples(
    client: httpx.AsyncClient, account: Account, victoria_metrics: VictoriaMetrics
) -> None:
    other = await register(client, "other@example.com", "Globex")
    ts = time.time() - 600
    for who, value in [(account, 1.0), (other, 2.0)]:
        key = await create_api_key(client, who)
        body = {"samples": [sample("checkout", value, ts, pod="a")]}
        response = await client.post("/api/v1/metrics", json=body, headers=bearer(key))
        assert response.status_code == 200, response.text
    for who, value in [(account, 1.0), (other, 2.0)]:
        answer = await client.get(
            "/api/v1/metrics",
            params={"metric": "latency_ms", "start": ts - 1},
            headers=who.headers,
        )
        [found] = answer.json()["series"]
        assert [point[1] for point in found["points"]] == [value]
    stored = victoria_metrics.export('{__name__="latency_ms"}')
    assert sorted((s["metric"]["failcast_org"], s["values"][0]) for s in stored) == [
        (str(account.org_id), 1.0),
        (str(other.org_id), 2.0),
    ]


async def test_a_down_engine_answers_503_and_stores_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    api_key: str,
    victoria_metrics: VictoriaMetrics,
) -> None:
    ts = time.time() - 600
    victoria_metrics.stop()
    body = {"samples": [sample("checkout", float(i), ts + i) for i in range(10)]}
    response = await client.post("/api/v1/metrics", json=body, headers=bearer(api_key))
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert response.json()["error"] == "Unavailable"
    read = await client.get(
        "/api/v1/metrics", params={"metric": "latency_ms"}, headers=bearer(api_key)
    )
    assert read.status_code == 503 and "Retry-After" in read.headers

    victoria_metrics.start()
    assert victoria_metrics.export('{__name__="latency_ms"}') == []
    assert await sql_samples(app) == 0
    # The client retries, as Retry-After asked, and the whole batch is stored once.
    response = await client.post("/api/v1/metrics", json=body, headers=bearer(api_key))
    assert response.status_code == 200, response.text
    async with services_of(app).db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Series)) == 1
    [stored] = victoria_metrics.export('{__name__="latency_ms"}')
    assert stored["values"] == [float(i) for i in range(10)]


async def test_a_services_newest_sample_and_the_org_stats_come_from_the_engine(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    async with services_of(app).db.session() as session:
        assert not await has_samples(session, account.org_id)
    ts = int(time.time()) - 600
    body = {"samples": [sample("checkout", 1.0, ts + i, pod=f"p{i % 2}") for i in range(5)]}
    response = await client.post("/api/v1/metrics", json=body, headers=bearer(api_key))
    assert response.status_code == 200, response.text
    stats = (await client.get("/api/v1/stats", headers=account.headers)).json()
    assert (stats["samples"], stats["series"]) == (5, 2)
    [service] = (await client.get("/api/v1/services", headers=account.headers)).json()
    detail = (await client.get(f"/api/v1/services/{service['id']}", headers=account.headers)).json()
    async with services_of(app).db.session() as session:
        # The demo backfills its history only into an org without samples.
        assert await has_samples(session, account.org_id)
    assert detail["last_sample_at"].startswith(
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts + 4))
    )
