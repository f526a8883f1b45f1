"""Background work survives a briefly unavailable store: each org's share is retried at the
instant it was scheduled for, so no org silently misses an alert evaluation; retries and
final failures are counted."""

from __future__ import annotations

import sqlite3
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI
from sqlalchemy.exc import OperationalError

from failcast.deps import services_of
from failcast.jobs.runner import InProcessRunner, JobRetry, OrgJob, is_transient

LOCKED = OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))


class Events:
    def __init__(self) -> None:
        self.retries: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    def retried(self, task: str) -> None:
        self.retries[task] += 1

    def failed(self, task: str) -> None:
        self.failures[task] += 1


class Sleeps(list[float]):
    async def __call__(self, seconds: float) -> None:
        self.append(seconds)


def test_only_a_busy_or_unreachable_store_counts_as_transient() -> None:
    assert is_transient(LOCKED)
    lost = OperationalError("SELECT 1", {}, Exception("server closed the connection"))
    assert is_transient(lost)
    assert not is_transient(OperationalError("SELECT", {}, Exception("no such table: alert")))
    assert not is_transient(ValueError("a bug"))


async def test_an_org_is_retried_at_the_same_instant_and_the_others_run() -> None:
    calls: list[tuple[int, int]] = []
    failing = {2: 2}  # org 2 fails twice, then works

    async def run_org(org_id: int, at: int) -> None:
        calls.append((org_id, at))
        if failing.get(org_id, 0) > 0:
            failing[org_id] -= 1
            raise LOCKED

    async def orgs() -> list[int]:
        return [1, 2, 3]

    sleeps, events = Sleeps(), Events()
    job = OrgJob("alerting.evaluate", orgs, run_org, retry=JobRetry(attempts=4), sleep=sleeps)
    job.events = events
    assert await job(now=1_000) == 3
    assert calls == [(1, 1_000), (2, 1_000), (2, 1_000), (2, 1_000), (3, 1_000)]
    assert sleeps == [0.5, 1.0]
    assert events.retries == {"alerting.evaluate": 2} and not events.failures


async def test_an_org_that_keeps_failing_is_counted_and_does_not_stop_the_rest(
    caplog: pytest.LogCaptureFixture,
) -> None:
    done: list[int] = []

    async def run_org(org_id: int, at: int) -> None:
        if org_id == 1:
            raise LOCKED
        if org_id == 2:
            raise ValueError("a bug is not retried")
        done.append(org_id)

    async def orgs() -> list[int]:
        return [1, 2, 3]

    sleeps, events = Sleeps(), Events()
    job = OrgJob("detect.score", orgs, run_org, retry=JobRetry(attempts=3), sleep=sleeps)
    job.events = events
    assert await job(now=5) == 1
    assert done == [3]
    assert len(sleeps) == 2  # org 1's retries only
    assert events.failures == {"detect.score": 2}
    assert [r.org_id for r in caplog.records if r.message == "org job failed"] == [1, 2]


async def test_plain_tasks_are_retried_by_the_runner() -> None:
    attempts: list[int] = []

    async def rollups() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise LOCKED

    sleeps, events = Sleeps(), Events()
    runner = InProcessRunner(periodic=False, sleep=sleeps, events=events)
    runner.register("store.rollups", rollups)
    await runner.start()
    await runner.submit("store.rollups")
    await runner.stop()
    assert len(attempts) == 3 and events.retries == {"store.rollups": 2}


T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)


async def _hot_cpu(client: httpx.AsyncClient, account: Account, key: str) -> None:
    samples = [
        {"service": "api", "metric": "cpu_pct", "ts": (T0 + timedelta(minutes=i)).isoformat(),
         "value": 95.0}
        for i in range(10)
    ]  # fmt: skip
    response = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert response.status_code == 200, response.text
    rule = {"kind": "threshold", "name": "hot-cpu", "metric": "cpu_pct", "op": ">", "value": 90,
            "window": "5m", "agg": "last"}  # fmt: skip
    created = await client.post("/api/v1/alert-rules", json=rule, headers=account.headers)
    assert created.status_code == 201, created.text


async def test_a_locked_store_does_not_make_an_org_miss_its_alert(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    other = await register(client, "other@example.com", "Other")
    await _hot_cpu(client, account, api_key)
    await _hot_cpu(client, other, await create_api_key(client, other))
    job: OrgJob = services_of(app).runner.tasks["alerting.evaluate"]
    evaluate = job.run_org
    locked_for = {other.org_id: 2}

    async def while_the_store_is_busy(org_id: int, at: int) -> Any:
        if locked_for.get(org_id, 0) > 0:
            locked_for[org_id] -= 1
            raise LOCKED
        return await evaluate(org_id, at)

    job.run_org = while_the_store_is_busy
    job.sleep = Sleeps()
    await job(now=int((T0 + timedelta(minutes=9)).timestamp() * 1000))
    for who in (account, other):
        firing = await client.get("/api/v1/alerts", params={"state": "firing"}, headers=who.headers)
        assert [a["labels"]["alertname"] for a in firing.json()["items"]] == ["hot-cpu"]
    metrics = (await client.get("/metrics")).text
    assert 'failcast_job_retries_total{task="alerting.evaluate"} 2.0' in metrics
    assert "failcast_job_failures_total{" not in metrics
