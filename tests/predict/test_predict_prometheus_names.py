"""End to end through the API: a fleet that reports under Prometheus-style names gets
predictions from behaviour, and a leak heading for its declared limit raises its service's."""

from __future__ import annotations

import time

import httpx
from _predict_fleet import fleet_history, install_model
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI

from failcast.chaos.naming import MEMORY_BYTES
from failcast.cli.simulate import sample_batches
from failcast.deps import services_of
from failcast.timeutil import ms_to_datetime


async def send_history(
    app: FastAPI, client: httpx.AsyncClient, account: Account, *, leak: bool
) -> None:
    """A week of three services under Prometheus names, ending now (with a memory leak in
    the cache that will exhaust it in about five hours), the memory limit, and the model."""
    end = int(time.time()) // 300 * 300
    key = await create_api_key(client, account)
    for batch in sample_batches(fleet_history(end, leak=leak)):
        sent = await client.post("/api/v1/metrics", json={"samples": batch}, headers=bearer(key))
        assert sent.status_code == 200, sent.text
    declared = await client.put(
        "/api/v1/metric-roles",
        json={"metric": "process_resident_memory_bytes", "limit": MEMORY_BYTES},
        headers=account.headers,
    )
    assert declared.status_code == 200, declared.text
    await install_model(services_of(app).db, account.org_id, ms_to_datetime(end * 1000))


async def predicted(client: httpx.AsyncClient, account: Account) -> dict[str, float]:
    out = {}
    for name in ("auth", "cache", "database"):
        answer = await client.post(
            "/api/v1/predict", json={"service": name}, headers=account.headers
        )
        assert answer.status_code == 200, answer.text
        out[name] = answer.json()["probabilities"]["24"]
    return out


async def test_prometheus_names_get_behaviour_based_predictions_that_rise_with_a_leak(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> None:
    await send_history(app, client, account, leak=True)
    leaking = await predicted(client, account)
    other = await register(client, "quiet@example.com", "Quiet")
    await send_history(app, client, other, leak=False)
    quiet = await predicted(client, other)
    # Not one constant answer for every service, and the leak raises the cache's.
    assert len({round(p, 6) for p in quiet.values()}) > 1
    assert leaking["cache"] > quiet["cache"] + 0.05
    assert abs(leaking["database"] - quiet["database"]) < 0.02
