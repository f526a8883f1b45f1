"""Plans as data, and their limits enforced: services (402), predictions (402), samples a
minute (429), with quota headers, monthly usage metering and plan-based retention."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from conftest import BillingClock, make_superuser, set_plan
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI
from sqlalchemy import func, select

from failcast.billing import repository
from failcast.billing.plans import month_key
from failcast.deps import services_of
from failcast.jobs.maintenance import StoreJobs
from failcast.models import LogEntry, Series
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range

NOW_S = datetime.now(UTC).timestamp()


def samples(services: list[str], per_service: int = 1, at: float = NOW_S) -> dict[str, Any]:
    return {
        "samples": [
            {"service": s, "metric": "cpu_pct", "ts": at - i, "value": float(i % 100)}
            for s in services
            for i in range(per_service)
        ]
    }


def names(prefix: str, n: int) -> list[str]:
    return [f"{prefix}-{i:03d}" for i in range(n)]


async def service_total(client: httpx.AsyncClient, key: str) -> int:
    answer = await client.get("/api/v1/stats", headers=bearer(key))
    assert answer.status_code == 200, answer.text
    count: int = answer.json()["services"]
    return count


async def test_plans_are_data_with_their_prices_and_limits(
    client: httpx.AsyncClient, account: Account
) -> None:
    answer = await client.get("/api/v1/plans", headers=account.headers)
    assert answer.status_code == 200, answer.text
    plans = {p["code"]: p for p in answer.json()["plans"]}
    assert list(plans) == ["free", "starter", "professional", "enterprise"]
    assert [p["price_usd_per_month"] for p in plans.values()] == [0, 49, 199, 499]
    assert [p["max_services"] for p in plans.values()] == [5, 25, 100, None]
    assert [p["max_predictions_per_month"] for p in plans.values()] == [100, 1000, None, None]
    assert [p["retention_days"] for p in plans.values()] == [7, 30, 90, None]
    assert plans["enterprise"]["custom"] is True and plans["free"]["custom"] is False


async def test_service_count_is_enforced_at_every_plan_limit(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    h = bearer(api_key)
    ok = await client.post("/api/v1/metrics", json=samples(names("a", 5)), headers=h)
    assert ok.status_code == 200, ok.text
    # Known services cost nothing more: the same five again are accepted.
    again = await client.post("/api/v1/metrics", json=samples(names("a", 5), 3), headers=h)
    assert again.status_code == 200, again.text

    refused = await client.post("/api/v1/metrics", json=samples(["a-000", "extra"]), headers=h)
    assert refused.status_code == 402, refused.text
    body = refused.json()
    assert body["error"] == "PlanLimitReached"
    assert body["detail"]["quota"] == "services" and body["detail"]["limit"] == 5
    assert "free plan allows 5 services" in body["detail"]["msg"]
    assert refused.headers["X-Failcast-Quota-Limit"] == "5"
    assert refused.headers["X-Failcast-Quota-Remaining"] == "0"
    # All or nothing: the known service's sample of the refused batch was not stored either.
    assert await service_total(client, api_key) == 5
    logs = {"logs": [{"service": "extra", "ts": NOW_S, "level": "info", "message": "hi"}]}
    assert (await client.post("/api/v1/logs", json=logs, headers=h)).status_code == 402
    created = await client.post(
        "/api/v1/services", json={"name": "by-hand"}, headers=account.headers
    )
    assert created.status_code == 402, created.text
    assert created.headers["X-Failcast-Quota-Limit"] == "5"

    for plan, limit in (("starter", 25), ("professional", 100)):
        await set_plan(app, account.org_id, plan)
        have = await service_total(client, api_key)
        fill = await client.post(
            "/api/v1/metrics", json=samples(names(plan, limit - have)), headers=h
        )
        assert fill.status_code == 200, fill.text
        over = await client.post("/api/v1/metrics", json=samples([f"{plan}-over"]), headers=h)
        assert over.status_code == 402, over.text
        assert over.json()["detail"]["limit"] == limit
        assert await service_total(client, api_key) == limit

    # Enterprise: unlimited until the operators set a negotiated limit for this org.
    await set_plan(app, account.org_id, "enterprise")
    more = await client.post("/api/v1/metrics", json=samples(names("ent", 10)), headers=h)
    assert more.status_code == 200, more.text
    await make_superuser(app, account.user_id)
    limits = await client.put(
        f"/api/v1/admin/orgs/{account.org_id}/limits",
        json={"max_services": 111},
        headers=account.headers,
    )
    assert limits.status_code == 200, limits.text
    assert limits.json()["max_services"] == 111
    assert limits.json()["max_predictions_per_month"] is None
    fill = await client.post("/api/v1/metrics", json=samples(names("ent2", 1)), headers=h)
    assert fill.status_code == 200
    over = await client.post("/api/v1/metrics", json=samples(["ent-over"]), headers=h)
    assert over.status_code == 402 and over.json()["detail"]["limit"] == 111


async def test_predictions_are_refused_once_the_month_is_used_up(
    app: FastAPI, client: httpx.AsyncClient, account: Account, billing_clock: BillingClock
) -> None:
    month = month_key(billing_clock.now)

    async def use(count: int) -> None:
        async with services_of(app).db.session() as session:
            used, _ = await repository.usage(session, account.org_id, month)
            await repository.add_usage(
                session, account.org_id, month, billing_clock.now, predictions=count - used
            )
            await session.commit()

    predict = {"features": {"signal": 1.0}}
    await use(99)
    # No model yet: the endpoint answers 409, which does not use up a prediction.
    first = await client.post("/api/v1/predict", json=predict, headers=account.headers)
    assert first.status_code == 409, first.text
    assert first.headers["X-Failcast-Quota-Limit"] == "100"
    assert first.headers["X-Failcast-Quota-Remaining"] == "1"
    await use(100)
    refused = await client.post("/api/v1/predict", json=predict, headers=account.headers)
    assert refused.status_code == 402, refused.text
    assert refused.json()["detail"]["quota"] == "predictions"
    assert refused.headers["X-Failcast-Quota-Remaining"] == "0"
    next_month = datetime(billing_clock.now.year + (billing_clock.now.month == 12),
                          billing_clock.now.month % 12 + 1, 1, tzinfo=UTC)  # fmt: skip
    assert refused.headers["X-Failcast-Quota-Reset"] == str(int(next_month.timestamp()))

    await set_plan(app, account.org_id, "starter")
    passes = await client.post("/api/v1/predict", json=predict, headers=account.headers)
    assert passes.status_code == 409
    assert passes.headers["X-Failcast-Quota-Remaining"] == "900"
    await use(1000)
    assert (
        await client.post("/api/v1/predict", json=predict, headers=account.headers)
    ).status_code == 402
    await set_plan(app, account.org_id, "professional")
    await use(1_000_000)
    unlimited = await client.post("/api/v1/predict", json=predict, headers=account.headers)
    assert unlimited.status_code == 409
    assert "X-Failcast-Quota-Limit" not in unlimited.headers
    # A new month starts from zero.
    await set_plan(app, account.org_id, "free")
    billing_clock.advance(days=32)
    fresh = await client.post("/api/v1/predict", json=predict, headers=account.headers)
    assert fresh.status_code == 409 and fresh.headers["X-Failcast-Quota-Remaining"] == "100"


async def test_a_successful_prediction_is_counted(
    app: FastAPI, client: httpx.AsyncClient, account: Account, billing_clock: BillingClock
) -> None:
    from _predict_synthetic import tiny_model

    from failcast.predict import registry

    async with services_of(app).db.session() as session:
        await registry.register(
            session, account.org_id, tiny_model(), source="imported", now=billing_clock.now
        )
        await session.commit()
    for remaining in ("99", "98"):
        answer = await client.post(
            "/api/v1/predict", json={"features": {"signal": 5.0, "noise": 0.0}},
            headers=account.headers,
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.headers["X-Failcast-Quota-Remaining"] == remaining
    billing = (await client.get("/api/v1/billing", headers=account.headers)).json()
    assert billing["usage"]["predictions"] == 2


async def test_samples_a_minute_are_rate_limited_and_metered(
    app: FastAPI, client: httpx.AsyncClient, api_key: str, billing_clock: BillingClock
) -> None:
    h = bearer(api_key)
    first = await client.post("/api/v1/metrics", json=samples(names("r", 5), 1200), headers=h)
    assert first.status_code == 200, first.text
    assert first.headers["X-Failcast-Quota-Limit"] == "10000"
    assert first.headers["X-Failcast-Quota-Remaining"] == "4000"
    second = await client.post("/api/v1/metrics", json=samples(names("r", 5), 900), headers=h)
    assert second.status_code == 429, second.text
    assert second.json()["error"] == "RateLimitExceeded"
    assert second.headers["Retry-After"] == "30"
    assert second.headers["X-Failcast-Quota-Remaining"] == "4000"
    billing_clock.advance(seconds=30)
    third = await client.post("/api/v1/metrics", json=samples(names("r", 5), 900), headers=h)
    assert third.status_code == 200, third.text

    assert await services_of(app).billing.flush_usage() == 10_500
    answer = await client.get("/api/v1/billing", headers=h)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["plan"]["code"] == "free" and body["status"] == "none"
    assert body["usage"] == {
        "month": month_key(billing_clock.now), "services": 5, "predictions": 0, "samples": 10_500,
    }  # fmt: skip
    assert body["limits"]["max_services"] == 5


@pytest.mark.parametrize("compacted", [False, True], ids=["head", "chunks"])
async def test_retention_deletes_what_the_plan_no_longer_keeps(
    app: FastAPI,
    client: httpx.AsyncClient,
    account: Account,
    api_key: str,
    billing_clock: BillingClock,
    compacted: bool,
) -> None:
    h = bearer(api_key)
    day = 86_400.0
    ages = [0.5, 3, 6.9, 7.1, 10, 12, 20, 40]  # days
    batch = {
        "samples": [
            {"service": s, "metric": "m", "ts": NOW_S - age * day, "value": age}
            for s in ("api", "db")
            for age in ages
        ]
    }
    assert (await client.post("/api/v1/metrics", json=batch, headers=h)).status_code == 200
    logs = {
        "logs": [
            {"service": "api", "ts": NOW_S - age * day, "level": "info", "message": f"{age}"}
            for age in ages
        ]
    }
    assert (await client.post("/api/v1/logs", json=logs, headers=h)).status_code == 200
    other = await register(client, "other@example.com", "Other")
    other_key = await create_api_key(client, other)
    assert (
        await client.post("/api/v1/metrics", json=batch, headers=bearer(other_key))
    ).status_code == 200
    await set_plan(app, other.org_id, "professional")
    if compacted:
        # Every sample is at least half a day old: all of them move into chunks.
        jobs = StoreJobs(
            services_of(app).db, services_of(app).settings, clock=lambda: int(NOW_S * 1000)
        )
        assert (await jobs.compact()).samples == 32

    async def kept(org_id: int) -> list[float]:
        async with services_of(app).db.session() as session:
            ids = list(await session.scalars(select(Series.id).where(Series.org_id == org_id)))
            points = await read_range(
                session, ids, 0, 2**62, step_ms=None, agg=Aggregation.last, limit=1000
            )
            return sorted(p.value for series in points.values() for p in series)

    deleted = await services_of(app).billing.retention()
    # Free keeps 7 days: 5 of 8 ages per series go, in batches of 3; 5 log lines go.
    assert deleted == (10, 5)
    assert await kept(account.org_id) == [0.5, 0.5, 3, 3, 6.9, 6.9]
    async with services_of(app).db.session() as session:
        lines = await session.scalar(select(func.count()).where(LogEntry.org_id == account.org_id))
    assert lines == 3
    # Professional keeps 90 days: the other org lost nothing.
    assert len(await kept(other.org_id)) == 16
    await set_plan(app, account.org_id, "starter")
    billing_clock.advance(days=1)
    assert await services_of(app).billing.retention() == (0, 0)


async def test_billing_with_quotas_on_is_metered(
    client: httpx.AsyncClient, account: Account
) -> None:
    billing = (await client.get("/api/v1/billing", headers=account.headers)).json()
    assert billing["metered"] is True
