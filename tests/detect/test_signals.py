"""Drift and forecast endpoints, and the drift and forecast_breach alert signals."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest
from factories import Account, bearer, register
from fastapi import FastAPI

from failcast.alerting import evaluate_org
from failcast.db.transactions import session_scope
from failcast.deps import services_of

HOUR = 3600.0
NOW = float(int(time.time()))


@pytest.fixture(autouse=True)
async def no_timers(app: FastAPI) -> None:
    """Jobs run by hand here, never on the wall-clock timers."""
    await services_of(app).runner.stop()


async def log_predictions(client: httpx.AsyncClient, key: str) -> None:
    """400 predictions a day ago and 200 in the last hours; `amount` shifts by 3 sigma."""
    rng = np.random.default_rng(3)
    items: list[dict[str, Any]] = []
    for i in range(400):
        items.append(
            {
                "id": f"r{i}",
                "ts": NOW - 30 * HOUR + i * 60,
                "features": {"amount": rng.normal(100, 10), "age": rng.normal(40, 5)},
                "prediction": float(rng.uniform(0.1, 0.5)),
            }
        )
    for i in range(200):
        items.append(
            {
                "id": f"c{i}",
                "ts": NOW - 4 * HOUR + i * 60,
                "features": {"amount": rng.normal(130, 10), "age": rng.normal(40, 5)},
                "prediction": float(rng.uniform(0.1, 0.5)),
            }
        )
    response = await client.post(
        "/api/v1/ml/predictions",
        json={"model": "scorer", "predictions": items},
        headers=bearer(key),
    )
    assert response.status_code == 200, response.text


async def test_drift_ranks_the_shifted_feature_first(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await log_predictions(client, api_key)
    response = await client.get(
        "/api/v1/drift", params={"service": "scorer", "reference": "2d"}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    body = response.json()
    features = {f["feature"]: f for f in body["features"]}
    assert body["features"][0]["feature"] == "amount"
    amount = features["amount"]
    assert amount["drifted"] is True
    assert amount["source"] == "features"
    assert (amount["n_reference"], amount["n_current"]) == (400, 200)
    # A 3-sigma shift: KS near 1, Wasserstein near 3 reference standard deviations.
    assert amount["ks"] > 0.8
    assert 2.4 < amount["wasserstein"] < 3.6
    assert features["age"]["drifted"] is False
    assert features["prediction"]["drifted"] is False
    assert features["prediction"]["source"] == "prediction"


async def test_drift_and_forecast_say_what_is_wrong(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await log_predictions(client, api_key)
    await ingest_memory(client, api_key)

    async def problem(path: str, params: dict[str, str], status: int = 422) -> str:
        response = await client.get(path, params=params, headers=account.headers)
        assert response.status_code == status, response.text
        return response.text

    assert "service" in await problem("/api/v1/drift", {})
    assert "current" in await problem("/api/v1/drift", {"service": "scorer", "current": "soon"})
    assert "not an ML model" in await problem("/api/v1/drift", {"service": "db"})
    await problem("/api/v1/drift", {"service": "nope"}, 404)
    base = {"service": "db", "metric": "memory_pct", "threshold": "95"}
    assert "threshold" in await problem("/api/v1/forecast", base | {"threshold": "lots"})
    assert "threshold" in await problem("/api/v1/forecast", base | {"threshold": "nan"})
    assert "metric" in await problem("/api/v1/forecast", {"service": "db", "threshold": "1"})
    assert "direction" in await problem("/api/v1/forecast", base | {"direction": "sideways"})
    assert "window" in await problem("/api/v1/forecast", base | {"window": "-1h"})
    await problem("/api/v1/forecast", base | {"metric": "cpu_pct"}, 404)
    # Another org sees neither.
    other = await register(client, "eve@other.example", "Other")
    for path, params in (("/api/v1/drift", {"service": "scorer"}), ("/api/v1/forecast", base)):
        response = await client.get(path, params=params, headers=other.headers)
        assert response.status_code == 404, response.text


async def ingest_memory(client: httpx.AsyncClient, key: str) -> None:
    """memory_pct of `db`: 60 % forty hours ago, rising 0.5 points an hour, small noise."""
    rng = np.random.default_rng(5)
    samples = [
        {
            "service": "db",
            "metric": "memory_pct",
            "ts": NOW - 40 * HOUR + k * 600,
            "value": 60 + 0.5 * (k * 600 / HOUR) + float(rng.normal(0, 0.3)),
        }
        for k in range(241)
    ]
    response = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert response.status_code == 200, response.text


async def test_forecast_returns_the_path_its_band_and_the_time_to_breach(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await ingest_memory(client, api_key)
    response = await client.get(
        "/api/v1/forecast",
        params={"service": "db", "metric": "memory_pct", "threshold": "95"},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # At 80 % now and +0.5 an hour, 95 % is 30 hours away.
    breach = body["breach"]
    assert breach["hours"] == pytest.approx(30, abs=2)
    assert breach["low_hours"] <= breach["hours"] <= breach["high_hours"] < 40
    assert breach["summary"].startswith("memory_pct reaches 95 in ~")
    path = body["forecast"]
    assert len(path) == 37
    assert path[0]["value"] == pytest.approx(80, abs=1)
    assert path[10]["value"] == pytest.approx(80 + 10, abs=2)  # 20 hours on
    # A percentage is never forecast past 100: the trend would reach 116 in 72 hours.
    assert path[-1]["value"] == 100.0
    assert all(0.0 <= p["low"] <= p["value"] <= p["high"] <= 100.0 for p in path)
    assert path[10]["high"] - path[10]["low"] > path[0]["high"] - path[0]["low"]
    assert len(body["history"]) > 200
    # Falling below 50 never happens on a rising trend.
    response = await client.get(
        "/api/v1/forecast",
        params={"service": "db", "metric": "memory_pct", "threshold": "50", "direction": "below"},
        headers=account.headers,
    )
    assert response.json()["breach"] is None


async def add_rule(client: httpx.AsyncClient, account: Account, **rule: Any) -> None:
    response = await client.post("/api/v1/alert-rules", json=rule, headers=account.headers)
    assert response.status_code == 201, response.text


async def firing(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/alerts", params={"state": "firing"}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_drift_and_forecast_breach_rules_fire_from_the_registered_signals(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await log_predictions(client, api_key)
    await ingest_memory(client, api_key)
    await add_rule(client, account, kind="drift", name="model-drift", above=1.0)
    await add_rule(
        client, account, kind="forecast_breach", name="memory-breach", metric="memory_pct",
        below_hours=48,
    )  # fmt: skip
    # The org alerts on memory above 90, so 90 is the limit the forecast aims at.
    await add_rule(
        client, account, kind="threshold", name="memory-high", metric="memory_pct", value=90
    )
    async with session_scope(services_of(app).db) as session:
        await evaluate_org(
            session, account.org_id, datetime.fromtimestamp(NOW, UTC),
            signals=services_of(app).alert_signals,
        )  # fmt: skip
    alerts = {a["labels"]["alertname"]: a for a in await firing(client, account)}
    assert set(alerts) == {"model-drift", "memory-breach"}
    drift = alerts["model-drift"]
    assert (drift["service"], drift["labels"]["feature"]) == ("scorer", "amount")
    breach = alerts["memory-breach"]
    assert breach["service"] == "db"
    # 80 % now, 90 % after 20 hours at 0.5 an hour.
    assert breach["value"] == pytest.approx(20, abs=2)
    details = breach["context"]["what"]["details"]
    assert (details["threshold"], details["limit_from"]) == (90.0, "rule")
    assert breach["context"]["time_to_impact_hours"] == pytest.approx(20, abs=2)


async def test_a_drift_rule_compares_its_threshold_with_the_statistic_it_names(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await log_predictions(client, api_key)
    report = await client.get(
        "/api/v1/drift", params={"service": "scorer"}, headers=account.headers
    )
    amount = next(f for f in report.json()["features"] if f["feature"] == "amount")
    psi, ks = amount["psi"], amount["ks"]
    assert psi > 0.2 and ks > 0.1
    await add_rule(client, account, kind="drift", name="psi-low", feature="amount", above=0.2)
    await add_rule(
        client, account, kind="drift", name="psi-high", feature="amount", above=psi + 0.01
    )
    await add_rule(
        client, account, kind="drift", name="ks", feature="amount", statistic="ks",
        above=ks - 0.01,
    )  # fmt: skip
    async with session_scope(services_of(app).db) as session:
        await evaluate_org(
            session, account.org_id, datetime.fromtimestamp(NOW, UTC),
            signals=services_of(app).alert_signals,
        )  # fmt: skip
    alerts = {a["labels"]["alertname"]: a for a in await firing(client, account)}
    assert set(alerts) == {"psi-low", "ks"}  # PSI is below the second rule's threshold
    assert alerts["psi-low"]["value"] == pytest.approx(psi)
    assert alerts["psi-low"]["context"]["what"]["details"]["statistic"] == "psi"
    assert alerts["ks"]["value"] == pytest.approx(ks)
    bad = await client.post(
        "/api/v1/alert-rules",
        json={"kind": "drift", "name": "x", "statistic": "vibes", "above": 1},
        headers=account.headers,
    )
    assert bad.status_code == 422
