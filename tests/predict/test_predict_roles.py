"""Metric roles and limits an org declares, in place of what names suggest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import get_args

import httpx
from factories import Account, bearer
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.detect.roles import ROLES
from failcast.predict import repository
from failcast.predict.schemas import Role


def test_the_api_offers_exactly_the_roles_prediction_knows() -> None:
    assert set(get_args(Role)) == set(ROLES)


async def test_declared_roles_and_limits_reach_the_fleet_prediction_reads(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    h = account.headers
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    samples = [
        {"service": s, "metric": m, "ts": (now - timedelta(minutes=5 * i)).isoformat(),
         "value": 1.0e9 + i}
        for s in ("api", "db") for m in ("heap_in_use", "pool_slots_busy") for i in range(6)
    ]  # fmt: skip
    sent = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key))
    assert sent.status_code == 200, sent.text

    every = await client.put(
        "/api/v1/metric-roles", json={"metric": "heap_in_use", "limit": 4.0e9}, headers=h
    )
    assert every.status_code == 200, every.text
    assert every.json()["read_as"] == {
        "role": "memory", "direction": 1, "counter": False, "limit": 4.0e9,
    }  # fmt: skip
    own = await client.put(
        "/api/v1/metric-roles",
        json={"metric": "pool_slots_busy", "service": "db", "role": "saturation", "limit": 50},
        headers=h,
    )
    assert own.status_code == 200 and own.json()["service"] == "db"
    listed = (await client.get("/api/v1/metric-roles", headers=h)).json()
    assert [(i["metric"], i["service"]) for i in listed["items"]] == [
        ("heap_in_use", None), ("pool_slots_busy", "db"),
    ]  # fmt: skip
    assert "latency" in listed["roles"]

    async with services_of(app).db.session() as session:
        end = int(now.timestamp() * 1000) + 300_000
        fleet = await repository.load_fleet(session, account.org_id, end - 3_600_000, end)
    assert fleet.services["api"].declared == {"heap_in_use": (None, 4.0e9)}
    assert fleet.services["db"].declared == {
        "heap_in_use": (None, 4.0e9), "pool_slots_busy": ("saturation", 50.0),
    }  # fmt: skip
    assert fleet.services["db"].role("pool_slots_busy").limit == 50.0

    for bad in ({"metric": "x", "role": "vibes"}, {"metric": "x", "limit": 0},
                {"metric": "x"}, {"metric": "x", "role": "cpu", "colour": "red"}):  # fmt: skip
        answer = await client.put("/api/v1/metric-roles", json=bad, headers=h)
        assert answer.status_code == 422, bad
    gone = await client.delete("/api/v1/metric-roles?metric=heap_in_use", headers=h)
    assert gone.status_code == 204
    again = await client.delete("/api/v1/metric-roles?metric=heap_in_use", headers=h)
    assert again.status_code == 404
    reader = await client.put(
        "/api/v1/metric-roles", json={"metric": "x", "role": "cpu"}, headers=bearer(api_key)
    )
    assert reader.status_code == 403
