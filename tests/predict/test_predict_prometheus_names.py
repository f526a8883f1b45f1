"""End to end through the API: a fleet that reports under Prometheus-style names gets
predictions from behaviour, and a leak heading for its declared limit raises its service's."""

from __future__ import annotations

import time
from functools import cache

import httpx
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI

from failcast.chaos import Fault, FaultKind, history_matrix
from failcast.chaos.hardness import PLAIN
from failcast.chaos.naming import MEMORY_BYTES, renamed
from failcast.cli.simulate import sample_batches
from failcast.predict import service
from failcast.predict.dataset import build_dataset
from failcast.predict.simulated import simulated_history
from failcast.predict.training import TrainConfig, TrainResult, train
from failcast.timeutil import ms_to_datetime

DAYS = 7.5


@cache
def trained() -> TrainResult:
    """A model of the simulator's own names, 24 h ahead."""
    history = simulated_history(21, 4, seed=3)
    config = TrainConfig(horizons=(24,), use_lstm=False)
    return train(build_dataset(history.fleet, history.incidents, (24,)), config)


async def send_history(
    app: FastAPI, client: httpx.AsyncClient, account: Account, *, leak: bool
) -> None:
    """A week of three services under Prometheus names, ending now, with a memory leak in
    the cache that will exhaust it in about five hours, and the model."""
    end = int(time.time()) // 300 * 300
    start = end - int(DAYS * 86400)
    faults = (
        [Fault(FaultKind.memory_leak_oom, "cache", end - 30 * 3600, 3600, lead_s=35 * 3600)]
        if leak
        else []
    )
    history = history_matrix(
        DAYS, 3, 300, seed=21, start=start, faults=faults, organic_rate_per_day=0,
        hardness=PLAIN,
    )  # fmt: skip
    key = await create_api_key(client, account)
    for batch in sample_batches(renamed(history.matrix, "prometheus")):
        sent = await client.post("/api/v1/metrics", json={"samples": batch}, headers=bearer(key))
        assert sent.status_code == 200, sent.text
    declared = await client.put(
        "/api/v1/metric-roles",
        json={"metric": "process_resident_memory_bytes", "limit": MEMORY_BYTES},
        headers=account.headers,
    )
    assert declared.status_code == 200, declared.text
    async with app.state.db.session() as session:
        row = await service.register(
            session, account.org_id, trained(), source="test",
            now=ms_to_datetime(end * 1000),
        )  # fmt: skip
        if row.status != "active":
            await service.promote(
                session, account.org_id, row.version, ms_to_datetime(end * 1000),
                force=True, reason="test", actor="test",
            )  # fmt: skip
        await session.commit()


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
