"""Where a new model version learns from (stored history or the simulated fleet's), and the live
window scoring reads, up to the minute."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest
from factories import Account, bearer
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.predict import registry, service
from failcast.predict.dataset import STEP_MS
from failcast.timeutil import now_ms


@pytest.fixture
def submitted(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Tasks submitted to the runner, recorded instead of run."""
    calls: list[tuple[str, dict[str, Any]]] = []

    async def submit(name: str, **kwargs: Any) -> None:
        calls.append((name, kwargs))

    monkeypatch.setattr(services_of(app).runner, "submit", submit)
    return calls


async def test_training_on_simulated_history_needs_the_simulated_fleet(
    client: httpx.AsyncClient,
    account: Account,
    submitted: list[tuple[str, dict[str, Any]]],
) -> None:
    h = account.headers
    refused = await client.post("/api/v1/models/train", json={"source": "simulator"}, headers=h)
    assert refused.status_code == 409
    assert "simulated fleet" in refused.json()["detail"]
    assert submitted == []

    started = await client.put("/api/v1/chaos/simulator", json={"enabled": True}, headers=h)
    assert started.status_code == 200, started.text
    queued = await client.post("/api/v1/models/train", json={"source": "simulator"}, headers=h)
    assert queued.status_code == 202, queued.text
    assert queued.json() == {
        "status": "queued",
        "source": "simulator",
        "days": registry.SIMULATED_TRAINING_DAYS,
        "job_id": 1,
    }
    stored = await client.post("/api/v1/models/train", json={"days": 90}, headers=h)
    assert stored.json() == {"status": "queued", "source": "database", "days": 90, "job_id": 2}
    assert submitted == [
        ("predict.train",
         {"org_id": account.org_id, "days": 30, "source": "simulator", "job_id": 1}),
        ("predict.train",
         {"org_id": account.org_id, "days": 90, "source": "database", "job_id": 2}),
    ]  # fmt: skip

    for body in ({"source": "simulator", "days": 121}, {"source": "elsewhere"}, {"days": 2}):
        bad = await client.post("/api/v1/models/train", json=body, headers=h)
        assert bad.status_code == 422, body
    assert len(submitted) == 2


async def test_a_live_prediction_reads_the_minutes_of_the_current_bucket(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    now = now_ms()
    bucket = now - now % STEP_MS
    # `cpu_pct` has reported in the current bucket, `memory_pct` not yet.
    samples = [
        {"service": "api", "metric": metric, "ts": ts / 1000, "value": value}
        for metric, ts, value in (
            ("cpu_pct", bucket - STEP_MS, 40.0),
            ("memory_pct", bucket - STEP_MS, 55.0),
            ("cpu_pct", max(bucket, now - 1000), 95.0),
        )
    ]
    answer = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert answer.status_code == 200, answer.text
    async with services_of(app).db.session() as session:
        fleet = await service.load_live(session, account.org_id, now)
    assert int(fleet.ts_ms[-1]) == bucket
    metrics = fleet.services["api"].metrics
    assert metrics["cpu_pct"][-2:].tolist() == [40.0, 95.0]
    # A metric silent so far in this bucket keeps its last value instead of reading as missing.
    assert metrics["memory_pct"][-2:].tolist() == [55.0, 55.0]
    assert np.isnan(metrics["cpu_pct"][-3])
