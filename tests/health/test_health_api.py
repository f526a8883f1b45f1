"""Health scores, org health, risk and the health config over the API, with numbers worked
out by hand from the formulas in docs/concepts.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.models import FailurePrediction, ModelVersion, Service

AT = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
AT_PARAM = {"at": AT.isoformat()}


async def declare(client: httpx.AsyncClient, account: Account, name: str, kind: str) -> int:
    response = await client.post(
        "/api/v1/services", json={"name": name, "kind": kind}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    service_id: int = response.json()["id"]
    return service_id


async def push(
    client: httpx.AsyncClient, key: str, service: str, values: dict[str, float], ago_s: float
) -> None:
    ts = (AT - timedelta(seconds=ago_s)).isoformat()
    samples = [
        {"service": service, "metric": metric, "ts": ts, "value": value}
        for metric, value in values.items()
    ]
    response = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert response.status_code == 200, response.text


async def fleet(client: httpx.AsyncClient, account: Account, key: str) -> dict[str, int]:
    """ranker (model), api (microservice) and etl (pipeline, simulator metric names)."""
    ids = {
        "ranker": await declare(client, account, "ranker", "ml_model"),
        "api": await declare(client, account, "api", "microservice"),
        "etl": await declare(client, account, "etl", "data_pipeline"),
    }
    for ago in (60, 120):
        await push(
            client,
            key,
            "ranker",
            {"accuracy": 0.87, "latency_p99_ms": 150, "error_rate": 0.01},
            ago,
        )
        await push(
            client,
            key,
            "api",
            {"latency_p99_ms": 40, "error_rate": 0.07, "cpu_pct": 85, "memory_pct": 40},
            ago,
        )
        await push(
            client,
            key,
            "etl",
            {
                "run_success_rate": 0.97,
                "freshness_lag_min": 90,
                "schema_errors": 2,
                "rows_processed": 1000,
            },
            ago,
        )
    # Older than the five-minute lookback: must not count.
    await push(client, key, "ranker", {"error_rate": 0.5, "accuracy": 0.1}, 600)
    # After the evaluation time: must not count either.
    await push(client, key, "api", {"error_rate": 0.9}, -30)
    return ids


async def get(client: httpx.AsyncClient, account: Account, path: str, **params: Any) -> Any:
    response = await client.get(path, params=AT_PARAM | params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_scores_equal_the_hand_calculation(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await fleet(client, account, api_key)
    body = await get(client, account, "/api/v1/health/services")
    assert body["window_seconds"] == 300
    by_name = {s["service"]: s for s in body["services"]}

    # docs/concepts.md: accuracy 0.87 -> 52, p99 150 ms -> 55, error 1 % -> 90, weights 25/20/20.
    ranker = by_name["ranker"]
    assert ranker["score"] == pytest.approx(4200 / 65)
    assert ranker["weighted_mean"] == ranker["score"]  # 64.6 is in the warning band already
    assert ranker["status"] == "warning"
    assert ranker["explanation"][0] == (
        "accuracy: accuracy 0.87 -> 52.0; score 52.0 (warning), weight 25 -> 38.5%,"
        " contributes 20.0"
    )
    assert ranker["explanation"][-1] == "ranker: health 64.6 (warning)"

    # p99 40 ms -> 100; error 7 % -> 40 - 40 * 2/15; resource min(cpu 85 -> 55, memory 100).
    api = by_name["api"]
    expected = (20 * 100 + 20 * (40 - 40 * 2 / 15) + 15 * 55) / 55
    assert api["weighted_mean"] == pytest.approx(expected)  # 64.0
    assert api["status"] == "critical"  # the error rate is past 5 %
    assert api["score"] == 59.0  # so the score stays below the critical cut of 60
    assert api["explanation"][-1] == (
        "api: health 59.0 (critical); weighted mean 64.0, capped at 59 because error_rate is"
        " critical"
    )

    # freshness 90 min -> 55, run success 0.97 -> 85, schema errors 2/1000 rows -> 94.
    etl = by_name["etl"]
    assert etl["score"] == pytest.approx((94 + 55) / 2)
    sources = {i["metric"]: i["source"] for i in etl["inputs"]}
    assert sources == {
        "run_success_rate": "run_success_rate",
        "freshness_lag_minutes": "freshness_lag_min",
        "schema_error_rate": "schema_errors / rows_processed",
    }


async def test_detail_lays_out_the_calculation_and_is_tenant_scoped(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    ids = await fleet(client, account, api_key)
    detail = await get(client, account, f"/api/v1/health/services/{ids['ranker']}")
    assert detail["formula"] == "0.385 x 52.0 + 0.308 x 55.0 + 0.308 x 90.0 = 64.6"
    api = await get(client, account, f"/api/v1/health/services/{ids['api']}")
    assert api["formula"] == (
        "0.364 x 100.0 + 0.364 x 34.7 + 0.273 x 55.0 = 64.0, capped at 59 (critical)"
    )
    assert detail["weights"]["accuracy"] == 25
    assert detail["thresholds"]["latency_p99_ms"] == {
        "healthy": 50.0,
        "warning": 100.0,
        "critical": 200.0,
        "zero": 1000.0,
    }
    assert detail["stored_means"]["accuracy"] == pytest.approx(0.87)
    skipped = {s["component"]: s["reason"] for s in detail["skipped"]}
    assert skipped["pipeline_reliability"] == "not used for ml_model"

    other = await register(client, "other@example.com", "Other")
    for path in (
        f"/api/v1/health/services/{ids['ranker']}",
        "/api/v1/health/services/999999",
    ):
        response = await client.get(path, headers=other.headers)
        assert response.status_code == 404, response.text
    theirs = (await client.get("/api/v1/health/services", headers=other.headers)).json()
    assert theirs["services"] == []


async def test_org_health_summary_and_risk(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await fleet(client, account, api_key)
    body = await get(client, account, "/api/v1/health")
    scores = [4200 / 65, 59.0, 74.5]  # api's 64.0 is capped at 59 while it is critical
    mean = sum(scores) / 3  # every service is tier 2
    # api is critical (15), ranker and etl are warnings (5 each); all weigh the same.
    assert body["mean"] == pytest.approx(mean)
    assert body["penalty"] == pytest.approx(25.0)
    assert body["score"] == pytest.approx(mean - 25.0)
    assert body["counts"] == {"ok": 0, "warning": 2, "critical": 1, "unknown": 0}
    assert body["summary"].startswith("Acme health is 41/100 (critical) across 3 services")
    assert {r["service"]: r["level"] for r in body["risks"]} == {
        "api": "high",
        "etl": "medium",
        "ranker": "medium",
    }

    risk = await get(client, account, "/api/v1/risk")
    assert risk["predictions"] == "no predictions yet"
    assert [s["service"] for s in risk["services"]] == ["api", "etl", "ranker"]
    assert risk["services"][0]["failure_probability"] is None
    assert risk["summary"] == body["summary"]


async def test_risk_reads_the_newest_predictions(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    ids = await fleet(client, account, api_key)
    async with services_of(app).db.session() as session:
        version = ModelVersion(
            org_id=account.org_id, version=1, status="active", source="imported", features=[],
            horizons=[1, 24, 48, 72], train_start=AT, train_end=AT, metrics={}, meta={},
            artifact=b"",
        )  # fmt: skip
        session.add(version)
        await session.flush()
        # Models also store a 1 h figure; risk is assessed on 24, 48 and 72 h only.
        for horizon, p in ((1, 0.05), (24, 0.30), (48, 0.40), (72, 0.55)):
            session.add(
                FailurePrediction(
                    org_id=account.org_id, service_id=ids["api"], model_version_id=version.id,
                    ts=AT - timedelta(minutes=10), horizon_h=horizon, probability=p,
                    alarm=False, incident_type="resource_exhaustion", confidence=0.5,
                    risk_level="high", factors=[], root_cause=None,
                )
            )  # fmt: skip
        await session.commit()
        assert await session.get(Service, ids["api"]) is not None
    risk = await get(client, account, "/api/v1/risk")
    assert risk["predictions"] == "available"
    health = await get(client, account, "/api/v1/health")
    assert {r["service"]: r["level"] for r in health["risks"]}["api"] == "critical"
    api = risk["services"][0]
    assert api["service"] == "api"
    assert api["failure_probability"] == {"24": 0.30, "48": 0.40, "72": 0.55}
    # Health (critical, 59) is high, P(24 h) 0.30 is high: two sources agree -> critical.
    assert api["level"] == "critical"
    assert api["corroborated"] is True
    # Evaluated before the prediction was made, it is not used.
    early = (AT - timedelta(hours=2)).isoformat()
    before = await get(client, account, "/api/v1/risk", at=early)
    assert before["predictions"] == "no predictions yet"


async def test_config_round_trip_json_and_yaml(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    ids = await fleet(client, account, api_key)
    defaults = (await client.get("/api/v1/health/config", headers=account.headers)).json()
    assert defaults["weights"] == {} and defaults["services"] == {}

    yaml_body = "version: 1\nthresholds:\n  latency_p99_ms: {warning: 150, critical: 300}\n"
    response = await client.put(
        "/api/v1/health/config",
        content=yaml_body,
        headers=account.headers | {"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    shown = response.json()["thresholds"]["latency_p99_ms"]
    assert shown == {"healthy": 50.0, "warning": 150.0, "critical": 300.0, "zero": 1000.0}
    ranker = await get(client, account, f"/api/v1/health/services/{ids['ranker']}")
    # p99 150 ms now sits on warning: 70.
    assert ranker["score"] == pytest.approx((25 * 52 + 20 * 70 + 20 * 90) / 65)

    response = await client.put(
        f"/api/v1/health/config/services/{ids['ranker']}",
        json={"weights": {"accuracy": 0}},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    overrides = response.json()["services"]
    assert overrides == {"ranker": {"weights": {"accuracy": 0.0}, "thresholds": {}}}
    ranker = await get(client, account, f"/api/v1/health/services/{ids['ranker']}")
    # (70 + 90) / 2 = 80 would read ok, but latency sits on its warning anchor: capped at 79.
    assert ranker["weighted_mean"] == pytest.approx((70 + 90) / 2)
    assert (ranker["score"], ranker["status"]) == (79.0, "warning")
    api = await get(client, account, f"/api/v1/health/services/{ids['api']}")
    assert api["weights"]["accuracy"] == 25  # the override is the ranker's alone

    stored = (await client.get("/api/v1/health/config", headers=account.headers)).json()
    assert stored["thresholds"]["latency_p99_ms"]["warning"] == 150

    response = await client.delete(
        f"/api/v1/health/config/services/{ids['ranker']}", headers=account.headers
    )
    assert response.status_code == 204
    ranker = await get(client, account, f"/api/v1/health/services/{ids['ranker']}")
    assert ranker["score"] == pytest.approx((25 * 52 + 20 * 70 + 20 * 90) / 65)


async def test_bad_config_names_the_line_and_the_key(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    ids = await fleet(client, account, api_key)
    yaml_headers = account.headers | {"Content-Type": "application/yaml"}
    text = "version: 1\nweights:\n  latency: 30\nthresholds:\n  latency_p99_ms: {critical: 1500}\n"
    response = await client.put("/api/v1/health/config", content=text, headers=yaml_headers)
    assert response.status_code == 422
    problem = response.json()["detail"][0]
    assert problem["line"] == 5
    assert problem["field"] == "thresholds.latency_p99_ms"
    assert "healthy < warning < critical < zero" in problem["msg"]

    response = await client.put(
        "/api/v1/health/config", content="weights:\n  latencyy: 3\n", headers=yaml_headers
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["line"] == 2
    assert response.json()["detail"][0]["field"] == "weights.latencyy"

    response = await client.put(
        "/api/v1/health/config",
        json={"org": {"critical_penalty": 150}},
        headers=account.headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "org.critical_penalty"

    # A service override that breaks the order of the org's anchors is located under it.
    response = await client.put(
        f"/api/v1/health/config/services/{ids['api']}",
        json={"thresholds": {"error_rate": {"warning": 0.3}}},
        headers=account.headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "services.api.thresholds.error_rate"

    response = await client.put(
        f"/api/v1/health/config/services/{ids['api']}",
        content="weights:\n  resource: -1\n",
        headers=yaml_headers,
    )
    assert response.status_code == 422
    assert response.json()["detail"][0] | {"msg": ""} == {
        "line": 2, "column": 3, "field": "weights.resource", "msg": ""
    }  # fmt: skip

    other = await register(client, "other@example.com", "Other")
    response = await client.put(
        f"/api/v1/health/config/services/{ids['api']}", json={}, headers=other.headers
    )
    assert response.status_code == 404
    assert (await client.get("/api/v1/health/config", headers=account.headers)).json()[
        "services"
    ] == {}


async def test_bad_parameters_name_the_field(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    for params, field in (({"window": "5x"}, "window"), ({"at": "yesterday"}, "at")):
        response = await client.get(
            "/api/v1/health/services", params=params, headers=account.headers
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["field"] == field
    key = await create_api_key(client, account, ["read"])
    response = await client.put("/api/v1/health/config", json={}, headers=bearer(key))
    assert response.status_code == 403
