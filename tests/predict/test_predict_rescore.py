"""Early re-scoring: a service whose health status changes is scored at once, not at the next
15-minute slot, at most once a minute per service, and only the services that changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from _predict_synthetic import tiny_model
from factories import Account, bearer
from fastapi import FastAPI
from sqlalchemy import select

from failcast.deps import services_of
from failcast.health.live import service_statuses
from failcast.live.events import LivePublisher
from failcast.live.hub import InProcessHub
from failcast.models import FailurePrediction, Service
from failcast.predict import registry
from failcast.predict.tasks import RESCORE_TASK, Rescorer, RescoreThrottle
from failcast.predict.training import TrainResult

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
NOW_MS = int(NOW.timestamp() * 1000)
MINUTE_MS = 60_000


@pytest.fixture(scope="module")
def tiny_result() -> TrainResult:
    return tiny_model()


class RecordingRunner:
    """Takes submitted tasks down instead of running them."""

    def __init__(self) -> None:
        self.submitted: list[tuple[str, dict[str, Any]]] = []

    async def submit(self, name: str, **kwargs: Any) -> None:
        self.submitted.append((name, kwargs))


def test_a_service_is_let_through_at_most_once_a_minute() -> None:
    throttle = RescoreThrottle(seconds=60)
    assert throttle.take(1, [7, 8, 7], NOW_MS) == [7, 8]
    assert throttle.take(1, [7], NOW_MS + 59_999) == []
    assert throttle.take(2, [7], NOW_MS + 1) == [7]  # another org's service 7 is its own
    assert throttle.take(1, [7, 9], NOW_MS + MINUTE_MS) == [7, 9]
    assert throttle.take(1, [8, 9], NOW_MS + MINUTE_MS + 1) == [8]


async def test_a_request_submits_the_rescore_task_for_the_services_let_through() -> None:
    runner = RecordingRunner()
    now = [NOW_MS]
    rescorer = Rescorer(runner, now_ms=lambda: now[0])  # type: ignore[arg-type]
    assert await rescorer.request(3, [5], "test") == [5]
    now[0] += 10_000
    assert await rescorer.request(3, [5, 6], "test") == [6]
    now[0] += 30_000
    assert await rescorer.request(3, [5, 6], "test") == []
    now[0] += 20_000
    assert await rescorer.request(3, [6, 5], "test") == [5]
    assert runner.submitted == [
        (RESCORE_TASK, {"org_id": 3, "service_ids": [5], "now": NOW_MS}),
        (RESCORE_TASK, {"org_id": 3, "service_ids": [6], "now": NOW_MS + 10_000}),
        (RESCORE_TASK, {"org_id": 3, "service_ids": [5], "now": NOW_MS + MINUTE_MS}),
    ]


async def push(client: httpx.AsyncClient, key: str, samples: list[dict[str, Any]]) -> None:
    response = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert response.status_code == 200, response.text


async def service_ids(app: FastAPI, org_id: int) -> dict[str, int]:
    async with services_of(app).db.session() as session:
        rows = await session.execute(
            select(Service.name, Service.id).where(Service.org_id == org_id)
        )
        return {name: id_ for name, id_ in rows}


async def predicted(app: FastAPI, org_id: int) -> list[tuple[int, datetime]]:
    async with services_of(app).db.session() as session:
        rows = await session.execute(
            select(FailurePrediction.service_id, FailurePrediction.ts)
            .where(FailurePrediction.org_id == org_id, FailurePrediction.horizon_h == 1)
            .order_by(FailurePrediction.id)
        )
        return [(s, ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts) for s, ts in rows]


async def test_a_health_status_change_rescores_that_service_at_once(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    api_key: str,
    tiny_result: TrainResult,
) -> None:
    start = NOW - timedelta(hours=3)
    await push(
        client,
        api_key,
        [
            {"service": s, "metric": "cpu_pct", "ts": (start + timedelta(minutes=m)).isoformat(),
             "value": 40.0 + (m % 7)}
            for s in ("api", "db")
            for m in range(0, 180, 5)
        ],
    )  # fmt: skip
    async with services_of(app).db.session() as session:
        await registry.register(
            session, account.org_id, tiny_result, source="imported", now=datetime.now(UTC)
        )
        await session.commit()
    ids = await service_ids(app, account.org_id)

    # The app's health watch hands status changes to its rescorer; this test drives a
    # publisher of its own, on the test's clock, so the app's is silenced.
    assert services_of(app).live.status_listeners == [services_of(app).rescorer.health_changed]
    services_of(app).live.status_listeners.clear()
    clock = [NOW_MS - 2 * MINUTE_MS]
    publisher = LivePublisher(
        services_of(app).db, InProcessHub(), read_health=service_statuses, now_ms=lambda: clock[0]
    )
    rescorer = Rescorer(services_of(app).runner, now_ms=lambda: clock[0])
    publisher.status_listeners.append(rescorer.health_changed)

    calm = {"service": "api", "metric": "error_rate", "value": 0.001}
    await push(client, api_key, [calm | {"ts": (clock[0] - 1000) / 1000}])
    await publisher.check_health(account.org_id)  # ok, seen for the first time: no change
    await services_of(app).runner.drain()
    assert await predicted(app, account.org_id) == []

    clock[0] += MINUTE_MS
    broken = calm | {"value": 0.5, "ts": (clock[0] - 1000) / 1000}
    await push(client, api_key, [broken])
    await publisher.check_health(account.org_id)  # mean error rate 25 %: critical
    await services_of(app).runner.drain()
    first = await predicted(app, account.org_id)
    assert first == [(ids["api"], datetime.fromtimestamp(clock[0] / 1000, UTC))]

    # Back to ok 30 s later (40 clean samples bring the mean to 1.2 %): the status changed
    # again, but api was re-scored less than a minute ago.
    clock[0] += 30_000
    clean = [calm | {"value": 0.0, "ts": (clock[0] - k * 500) / 1000} for k in range(1, 41)]
    await push(client, api_key, clean)
    await publisher.check_health(account.org_id)
    await services_of(app).runner.drain()
    assert await predicted(app, account.org_id) == first


async def test_rescore_scores_only_the_services_asked_for(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    api_key: str,
    tiny_result: TrainResult,
) -> None:
    start = NOW - timedelta(hours=3)
    await push(
        client,
        api_key,
        [
            {"service": s, "metric": "cpu_pct", "ts": (start + timedelta(minutes=m)).isoformat(),
             "value": 40.0 + (m % 7)}
            for s in ("api", "db")
            for m in range(0, 180, 5)
        ],
    )  # fmt: skip
    jobs = services_of(app).prediction_jobs
    ids = await service_ids(app, account.org_id)
    assert await jobs.rescore(account.org_id, [ids["db"]], NOW_MS) == 0  # no model yet
    async with services_of(app).db.session() as session:
        await registry.register(
            session, account.org_id, tiny_result, source="imported", now=datetime.now(UTC)
        )
        await session.commit()
    assert await jobs.rescore(account.org_id, [ids["db"]], NOW_MS) == 2  # 1 h and 6 h
    assert [s for s, _ in await predicted(app, account.org_id)] == [ids["db"]]
    assert await jobs.rescore(account.org_id, [999_999], NOW_MS) == 0  # not this org's
