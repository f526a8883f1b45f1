from __future__ import annotations

import time

import httpx
from factories import Account, bearer, create_api_key
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.deps import services_of
from failcast.integrations.exporters import ExportedSample
from failcast.jobs.maintenance import StoreJobs

EXPORT = "/api/v1/prometheus/metrics"


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


async def test_health_scores_and_sample_counts_are_exposed(
    app: FastAPI, client: httpx.AsyncClient, api_key: str
) -> None:
    now = time.time() - 10
    samples = [
        # checkout: latency 50 ms scores 100, error rate 2% scores 70, CPU 80% scores 70;
        # weights 20, 20, 15 -> (20*100 + 20*70 + 15*70) / 55 = 80.9, but error rate and CPU
        # sit on their warning anchors, so the service is warning and its score is capped at 79.
        {"service": "checkout", "metric": "latency_p99_ms", "ts": now - 60, "value": 900.0},
        {"service": "checkout", "metric": "latency_p99_ms", "ts": now, "value": 50.0},
        {"service": "checkout", "metric": "error_rate", "ts": now, "value": 0.02},
        {"service": "checkout", "metric": "cpu_pct", "ts": now, "value": 80.0},
        {"service": "checkout", "metric": "requests", "ts": now, "value": 5.0},
        # No health metric: a sample count but no score.
        {"service": "batch", "metric": "rows", "ts": now - 30, "value": 1.0},
    ]
    response = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert response.status_code == 200
    exported = await client.get(EXPORT, headers=bearer(api_key))
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/plain")
    values = parse(exported.text)
    score = values[("failcast_health_score", (("kind", "microservice"), ("service", "checkout")))]
    assert score == 79.0
    assert not any(k[0] == "failcast_health_score" and ("service", "batch") in k[1] for k in values)
    assert values[("failcast_service_samples", (("service", "checkout"),))] == 5
    assert values[("failcast_service_samples", (("service", "batch"),))] == 1
    age = values[("failcast_service_last_sample_age_seconds", (("service", "batch"),))]
    assert 30 <= age < 120

    if services_of(app).settings.metrics_engine is not None:
        return  # the engine keeps the samples: nothing here compacts them
    # Compacted into chunks, the samples are still counted, and still as recent.
    jobs = StoreJobs(services_of(app).db, services_of(app).settings)
    assert (await jobs.compact(now=int((now + 86_400) * 1000))).samples == 6
    again = parse((await client.get(EXPORT, headers=bearer(api_key))).text)
    assert again[("failcast_service_samples", (("service", "checkout"),))] == 5
    assert again[("failcast_service_samples", (("service", "batch"),))] == 1
    age = again[("failcast_service_last_sample_age_seconds", (("service", "batch"),))]
    assert 30 <= age < 120


async def test_registered_exporters_are_served_per_org_and_need_read_scope(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> None:
    seen: list[int] = []

    async def burn_rates(session: AsyncSession, org_id: int) -> list[ExportedSample]:
        seen.append(org_id)
        return [ExportedSample("slo_burn_rate", "Error budget burn rate.", {"slo": 'a"b'}, 2.5)]

    services_of(app).exporters.register(burn_rates)
    reader = await create_api_key(client, account, ["read"])
    text = (await client.get(EXPORT, headers=bearer(reader))).text
    assert 'failcast_slo_burn_rate{slo="a\\"b"} 2.5' in text
    assert seen == [account.org_id]
    ingest_only = await create_api_key(client, account, ["ingest"])
    assert (await client.get(EXPORT, headers=bearer(ingest_only))).status_code == 403
    assert (await client.get(EXPORT)).status_code == 401


async def test_label_lists_reuse_a_recent_collection_and_queries_do_not(
    app: FastAPI, client: httpx.AsyncClient, api_key: str
) -> None:
    now = [1000.0]
    calls = [0]

    async def counted(session: AsyncSession, org_id: int) -> list[ExportedSample]:
        calls[0] += 1
        return [ExportedSample("probe", "A probe.", {"round": str(calls[0])}, 1.0)]

    services_of(app).exporters.register(counted)
    services_of(app).exporters.clock = lambda: now[0]
    headers = bearer(api_key)

    async def rounds() -> list[str]:
        response = await client.get("/prometheus/api/v1/label/round/values", headers=headers)
        values: list[str] = response.json()["data"]
        return values

    assert await rounds() == ["1"]
    now[0] += 10
    assert await rounds() == ["1"]  # within RECENT_SECONDS: the same collection
    query = await client.get(
        "/prometheus/api/v1/query", params={"query": "failcast_probe"}, headers=headers
    )
    assert [r["metric"]["round"] for r in query.json()["data"]["result"]] == ["2"]
    now[0] += 16
    assert await rounds() == ["3"]
