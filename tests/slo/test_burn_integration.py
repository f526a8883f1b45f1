"""A chaos fault burns an SLO's error budget and fires the paging burn-rate alert, and
nothing else: the other SLO stays quiet, the ticket tier and the ticket rule stay off, and the
page clears minutes after the fault ends; a slow burn raises the ticket and no page.

Three days of minute samples come from a simulated fleet (no organic failures) and go in
through the ingestion API; rules are evaluated at chosen times, so nothing sleeps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from factories import Account, bearer
from fastapi import FastAPI

from failcast.alerting import evaluate_org
from failcast.chaos.engine import Fleet
from failcast.chaos.faults import Fault, FaultKind
from failcast.db.transactions import session_scope
from failcast.deps import services_of

# A fixed time of day (yesterday, 09:22 UTC): the fleet's traffic follows a daily cycle, so the
# budgets burn the same on every run.
END = datetime.now(UTC).replace(hour=9, minute=22, second=0, microsecond=0) - timedelta(days=1)
FAULT_START = END - timedelta(minutes=60)
FAULT_MINUTES = 40
HISTORY = timedelta(days=3, hours=2)
WATCHED = {
    "api-gateway": ("throughput_rps", "error_rate"),  # calls checkout for 25 % of requests
    "auth": ("throughput_rps", "error_rate"),  # does not depend on checkout
}


def fleet_samples() -> list[dict[str, Any]]:
    """Minute samples of the watched metrics, with checkout killed for FAULT_MINUTES."""
    start = END - HISTORY
    fleet = Fleet(seed=7, organic=False, clock=lambda: start.timestamp())
    fleet.inject(
        Fault(
            kind=FaultKind.service_kill,
            target="checkout",
            start=FAULT_START.timestamp(),
            duration_s=FAULT_MINUTES * 60.0,
        )
    )
    minutes = int(HISTORY.total_seconds() // 60)
    wall = start.timestamp() + 60.0 * np.arange(minutes + 1, dtype=np.float64)
    matrix = fleet.matrix(wall)
    samples = []
    for service, metrics in WATCHED.items():
        for metric in metrics:
            values = matrix.get(service, metric)
            samples += [
                {"service": service, "metric": metric, "ts": float(t), "value": float(v)}
                for t, v in zip(wall, values, strict=True)
            ]
    return samples


async def ingest(client: httpx.AsyncClient, key: str, samples: list[dict[str, Any]]) -> None:
    for i in range(0, len(samples), 10_000):
        response = await client.post(
            "/api/v1/metrics", json={"samples": samples[i : i + 10_000]}, headers=bearer(key)
        )
        assert response.status_code == 200, response.text


async def post(client: httpx.AsyncClient, account: Account, path: str, body: Any) -> Any:
    response = await client.post(path, json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    return response.json()


def availability(service: str) -> dict[str, Any]:
    return {
        "name": f"{service}-availability",
        "service": service,
        "objective": 0.99,
        "sli": {"type": "ratio", "ratio": {"query": "error_rate"}},
    }


async def firing(client: httpx.AsyncClient, account: Account) -> list[tuple[str, str]]:
    response = await client.get("/api/v1/alerts", headers=account.headers)
    assert response.status_code == 200, response.text
    return sorted(
        (a["labels"]["alertname"], a["labels"]["slo"])
        for a in response.json()["items"]
        if a["state"] == "firing"
    )


async def slo_status(
    client: httpx.AsyncClient, account: Account, slo_id: int, at: datetime
) -> dict[str, Any]:
    response = await client.get(
        f"/api/v1/slos/{slo_id}/status", params={"at": at.isoformat()}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_killed_dependency_pages_on_its_callers_slo_only(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await ingest(client, api_key, fleet_samples())
    gateway = await post(client, account, "/api/v1/slos", availability("api-gateway"))
    auth = await post(client, account, "/api/v1/slos", availability("auth"))
    for slo in ("api-gateway-availability", "auth-availability"):
        for tier in ("page", "ticket"):
            rule = {"kind": "slo_burn", "name": f"{slo}-{tier}", "slo": slo, "tier": tier}
            await post(client, account, "/api/v1/alert-rules", rule)

    async def evaluate(at: datetime) -> list[tuple[str, str]]:
        async with session_scope(services_of(app).db) as session:
            await evaluate_org(session, account.org_id, at, signals=services_of(app).alert_signals)
        return await firing(client, account)

    # Before the fault three days of normal traffic keep both budgets intact.
    before = FAULT_START - timedelta(minutes=1)
    assert await evaluate(before) == []
    calm = await slo_status(client, account, gateway["id"], before)
    assert calm["severity"] == "none"
    assert 0.0 < calm["burn_rates"]["3d"] < 1.0

    # 39 minutes in: about a quarter of the gateway's requests fail (burn ~25 against 99 %).
    during = FAULT_START + timedelta(minutes=FAULT_MINUTES - 1)
    status = await slo_status(client, account, gateway["id"], during)
    assert status["burn_rates"]["5m"] > 20.0
    tiers = {t["name"]: t["firing"] for t in status["tiers"]}
    # The 1 h window is past 14.4; 6 h and 3 d windows still hold too much good traffic.
    assert tiers == {"page-1h": True, "page-6h": False, "ticket-3d": False}
    assert status["severity"] == "page"
    assert status["hours_to_exhaustion"] is not None and status["hours_to_exhaustion"] < 48
    quiet = await slo_status(client, account, auth["id"], during)
    assert quiet["severity"] == "none"
    assert not any(t["burning"] for t in quiet["tiers"])

    # The page fires for the gateway; its ticket rule stays quiet (the page supersedes it),
    # and nothing fires for auth.
    assert await evaluate(during) == [
        ("api-gateway-availability-page", "api-gateway-availability"),
    ]
    response = await client.get("/api/v1/alerts", headers=account.headers)
    page = next(
        a
        for a in response.json()["items"]
        if a["labels"]["alertname"] == "api-gateway-availability-page"
    )
    assert page["value"] == 2.0
    assert page["service"] == "api-gateway"
    assert page["context"]["what"]["details"]["firing_tiers"] == ["page-1h"]

    # Ten minutes after checkout is back, the 5 m window is clean: the page clears.
    after = FAULT_START + timedelta(minutes=FAULT_MINUTES + 10)
    recovered = await slo_status(client, account, gateway["id"], after)
    assert recovered["severity"] == "none"
    assert recovered["budget"]["remaining"] < calm["budget"]["remaining"]
    assert await evaluate(after) == []


async def test_a_slow_burn_raises_the_ticket_and_no_page(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    # Three days at 0.1 % errors, then 30 hours at 3 % (burn 3 against 99 %).
    minutes = 3 * 24 * 60 + 60
    start = END - timedelta(minutes=minutes - 1)
    errors = np.where(np.arange(minutes) >= minutes - 30 * 60, 0.03, 0.001)
    samples = []
    for metric, values in (("throughput_rps", np.ones(minutes)), ("error_rate", errors)):
        samples += [
            {
                "service": "batch",
                "metric": metric,
                "ts": (start + timedelta(minutes=i)).timestamp(),
                "value": float(v),
            }
            for i, v in enumerate(values)
        ]
    await ingest(client, api_key, samples)
    slo = await post(client, account, "/api/v1/slos", availability("batch"))
    for tier in ("page", "ticket"):
        rule = {"kind": "slo_burn", "name": f"batch-{tier}", "slo": "batch-availability"}
        rule["tier"] = tier
        await post(client, account, "/api/v1/alert-rules", rule)

    status = await slo_status(client, account, slo["id"], END)
    # 3 d: (0.03 x 1800 + 0.001 x 2520) / 4320 / 0.01 = 1.31; 1 h and 6 h: 3.
    assert status["burn_rates"]["3d"] == pytest.approx((0.03 * 1800 + 0.001 * 2520) / 4320 / 0.01)
    assert status["burn_rates"]["1h"] == pytest.approx(3.0)
    assert {t["name"]: t["firing"] for t in status["tiers"]} == {
        "page-1h": False,
        "page-6h": False,
        "ticket-3d": True,
    }
    async with session_scope(services_of(app).db) as session:
        await evaluate_org(session, account.org_id, END, signals=services_of(app).alert_signals)
    assert await firing(client, account) == [("batch-ticket", "batch-availability")]
