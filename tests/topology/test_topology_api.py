"""The live dependency graph over the API: health colours, cascade risk, critical path and
blast radius on the worked example of docs/concepts.md, and the simulated fleet's graph."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factories import Account, bearer, register
from fastapi import FastAPI
from sqlalchemy import select

from failcast.deps import services_of
from failcast.models import FailurePrediction, ModelVersion, Service

AT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)

TOPOLOGY = """\
version: 1
services:
  - name: web
    entry_point: true
    traffic: 300
    depends_on: [api]
  - name: api
    tier: 1
    depends_on:
      - target: db
      - target: cache
        criticality: soft
  - name: db
  - name: cache
"""


async def push(client: httpx.AsyncClient, key: str, values: dict[str, dict[str, float]]) -> None:
    ts = (AT - timedelta(seconds=30)).isoformat()
    samples = [
        {"service": service, "metric": metric, "ts": ts, "value": value}
        for service, metrics in values.items()
        for metric, value in metrics.items()
    ]
    response = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert response.status_code == 200, response.text


async def predict(app: FastAPI, org_id: int, probabilities: dict[str, float]) -> None:
    """Store a 24 h prediction per service, made ten minutes before AT."""
    async with services_of(app).db.session() as session:
        version = ModelVersion(
            org_id=org_id, version=1, status="active", source="imported", features=[],
            horizons=[24], train_start=AT, train_end=AT, metrics={}, meta={}, artifact=b"",
        )  # fmt: skip
        session.add(version)
        await session.flush()
        for name, p in probabilities.items():
            service_id = await session.scalar(
                select(Service.id).where(Service.org_id == org_id, Service.name == name)
            )
            assert service_id is not None
            session.add(
                FailurePrediction(
                    org_id=org_id, service_id=service_id, model_version_id=version.id,
                    ts=AT - timedelta(minutes=10), horizon_h=24, probability=p, alarm=False,
                    incident_type="resource_exhaustion", confidence=0.5, risk_level="low",
                    factors=[], root_cause=None,
                )
            )  # fmt: skip
        await session.commit()


async def example(app: FastAPI, client: httpx.AsyncClient, account: Account, key: str) -> None:
    response = await client.put(
        "/api/v1/topology",
        content=TOPOLOGY,
        headers=account.headers | {"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    await push(
        client,
        key,
        {
            # p50 latencies: web 15 + api 70 (its own 40 + the cache's 30), db 25, cache 30.
            "web": {"latency_p50_ms": 85, "error_rate": 0.02},
            "api": {"latency_p50_ms": 70, "error_rate": 0.001},
            "db": {"latency_p50_ms": 25},
            "cache": {"latency_p50_ms": 30, "saturation": 0.85},
        },
    )
    await predict(app, account.org_id, {"db": 0.1, "cache": 0.2, "api": 0.05})


async def get(client: httpx.AsyncClient, account: Account, path: str, **params: Any) -> Any:
    response = await client.get(
        path, params={"at": AT.isoformat()} | params, headers=account.headers
    )
    assert response.status_code == 200, response.text
    return response.json()


async def test_cascade_follows_the_worked_example(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await example(app, client, account, api_key)
    body = await get(client, account, "/api/v1/topology/cascade")
    assert body["source"] == "declared"
    assert body["predictions"] == "available"
    by_name = {s["service"]: s for s in body["services"]}
    # docs/concepts.md: w(api -> cache) = 0.65, P(api) = 1 - 0.95 x 0.9 x 0.87 = 0.256.
    api = by_name["api"]
    assert api["own_source"] == "prediction"
    assert api["probability"] == pytest.approx(1 - 0.95 * 0.9 * 0.87)
    cache_edge = next(c for c in api["contributors"] if c["dependency"] == "cache")
    assert cache_edge["weight"] == pytest.approx(0.65)
    assert cache_edge["effect"] == pytest.approx(0.13)
    # web has no prediction: error rate 2 % scores 70, so its own share is 0.3^2 = 0.09.
    web = by_name["web"]
    assert web["own_source"] == "health"
    assert web["own_probability"] == pytest.approx(0.09)
    assert web["probability"] == pytest.approx(1 - 0.91 * (0.95 * 0.9 * 0.87))
    assert web["root_path"] == ["web", "api", "cache"]
    assert by_name["cache"]["saturation"] == pytest.approx(0.85)
    assert body["services"][0]["service"] == "web"  # highest first

    # The 72 h horizon has no predictions: everything comes from health or nothing.
    later = await get(client, account, "/api/v1/topology/cascade", horizon=72)
    sources = {s["service"]: s["own_source"] for s in later["services"]}
    assert sources == {"web": "health", "api": "health", "db": "none", "cache": "none"}

    response = await client.get(
        "/api/v1/topology/cascade", params={"horizon": 12}, headers=account.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "horizon"


async def test_graph_is_coloured_by_health_and_tenant_scoped(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await example(app, client, account, api_key)
    body = await get(client, account, "/api/v1/topology/graph")
    nodes = {n["id"]: n for n in body["nodes"]}
    assert list(nodes) == ["web", "api", "db", "cache"]
    assert nodes["web"]["health_score"] == pytest.approx(70.0)
    assert nodes["web"]["health_status"] == "warning"
    assert nodes["web"]["colour"] == "#f9a825"
    assert nodes["api"]["health_status"] == "ok"
    assert nodes["db"]["health_status"] == "unknown"
    assert nodes["api"]["failure_probability"] == pytest.approx(0.05)
    assert nodes["web"]["entry_point"] is True
    edges = {(e["source"], e["target"]): e["weight"] for e in body["edges"]}
    assert edges == {("web", "api"): 1.0, ("api", "db"): 1.0, ("api", "cache"): 0.3}

    other = await register(client, "other@example.com", "Other")
    theirs = await get(client, other, "/api/v1/topology/graph")
    assert theirs == {"at": theirs["at"], "source": "catalog", "nodes": [], "edges": []}
    response = await client.get(
        "/api/v1/topology/blast-radius", params={"service": "db"}, headers=other.headers
    )
    assert response.status_code == 404


async def test_critical_path_from_measured_latency(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await example(app, client, account, api_key)
    body = await get(client, account, "/api/v1/topology/critical-path")
    assert body["path"] == ["web", "api", "cache"]
    assert body["latency_ms"] == pytest.approx(85.0)
    steps = {s["service"]: s for s in body["steps"]}
    # api's own work: 70 ms less the slowest dependency's 30 ms.
    assert steps["api"]["self_ms"] == pytest.approx(40.0)
    assert steps["api"]["share"] == pytest.approx(40 / 85)
    assert body["without_latency"] == []

    from_api = await get(client, account, "/api/v1/topology/critical-path", entry="api")
    assert from_api["path"] == ["api", "cache"]
    assert from_api["latency_ms"] == pytest.approx(70.0)

    p99 = await get(client, account, "/api/v1/topology/critical-path", percentile="p99")
    assert p99["latency_ms"] == 0.0
    assert p99["without_latency"] == ["api", "cache", "db", "web"]

    response = await client.get(
        "/api/v1/topology/critical-path", params={"entry": "nope"}, headers=account.headers
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [{"field": "entry", "msg": "nope is not in the topology"}]


async def test_blast_radius(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await example(app, client, account, api_key)
    body = await get(client, account, "/api/v1/topology/blast-radius")
    radii = {r["service"]: r for r in body["services"]}
    assert radii["db"]["affected"] == ["api", "web"]
    assert radii["db"]["weighted_count"] == pytest.approx(2.0)
    assert radii["db"]["expected_traffic_loss"] == pytest.approx(1.0)
    # The cache is 85 % saturated, so its soft edge weighs 0.65.
    assert radii["cache"]["weighted_count"] == pytest.approx(1.3)
    assert radii["cache"]["expected_traffic_loss"] == pytest.approx(0.65)
    assert radii["web"]["count"] == 0
    one = await get(client, account, "/api/v1/topology/blast-radius", service="cache")
    assert [r["service"] for r in one["services"]] == ["cache"]
    response = await client.get(
        "/api/v1/topology/blast-radius", params={"service": "nope"}, headers=account.headers
    )
    assert response.status_code == 404


async def test_declared_and_simulated_edges_merge_into_one_graph(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await client.put(
        "/api/v1/chaos/simulator", json={"enabled": True}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    body = await get(client, account, "/api/v1/topology/graph")
    assert body["source"] == "simulated"
    entries = [n["id"] for n in body["nodes"] if n["entry_point"]]
    assert entries == ["api-gateway"]
    edges = {(e["source"], e["target"]): e["weight"] for e in body["edges"]}
    assert edges[("api-gateway", "checkout")] == pytest.approx(0.25)
    assert edges[("fraud-model", "features-pipeline")] == pytest.approx(1.0)
    radius = await get(client, account, "/api/v1/topology/blast-radius", service="database")
    assert "api-gateway" in radius["services"][0]["affected"]

    response = await client.put(
        "/api/v1/topology",
        content="services:\n  - name: solo\n",
        headers=account.headers | {"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200
    merged = await get(client, account, "/api/v1/topology/graph")
    assert merged["source"] == "declared"  # the most trusted source that contributed
    nodes = [n["id"] for n in merged["nodes"]]
    assert nodes[0] == "solo" and "api-gateway" in nodes
    origins = {(e["source"], e["target"]): e["origin"] for e in merged["edges"]}
    assert origins[("api-gateway", "checkout")] == "simulated"
