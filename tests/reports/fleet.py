"""A week of a small fleet's history with incidents, SLOs and judged predictions, stored through
the API (and the prediction tables), for reports to be drawn from."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from factories import Account, bearer, create_api_key
from fastapi import FastAPI
from sqlalchemy import select

from failcast.deps import services_of

END = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
START = END - timedelta(days=7)
SERVICES = ("checkout", "payments", "search", "recommender")
INCIDENTS = [
    ("payments", "latency_spike", 30, 45, "Card authorisation timeouts"),
    ("search", "resource_exhaustion", 100, 90, "Index node out of memory"),
    ("checkout", "cascade", 20, 30, "Checkout errors from payments"),
]
# (alarm, outcome, probability) of judged 24 h predictions
JUDGED = [(True, True, 0.9), (True, True, 0.8), (True, False, 0.7), (False, True, 0.3),
          (False, False, 0.1), (False, False, 0.2)]  # fmt: skip


@dataclass
class Fleet:
    account: Account
    key: str


def _value(service: str, metric: str, hours_before_end: int) -> float:
    wave = math.sin(hours_before_end / 24 * 2 * math.pi)
    degraded = service == "payments" and hours_before_end <= 36
    if metric == "latency_p99_ms":
        base = {"checkout": 80, "payments": 95, "search": 60, "recommender": 130}[service]
        return base + 15 * wave + (260 if degraded else 0)
    if metric == "error_rate":
        return 0.004 + 0.002 * wave + (0.05 if degraded else 0)
    return 45 + 10 * wave + (25 if degraded else 0)


async def build(app: FastAPI, client: httpx.AsyncClient, account: Account) -> Fleet:
    key = await create_api_key(client, account, ["ingest", "read", "write"])
    samples: list[dict[str, Any]] = []
    for hours in range(0, 7 * 24 + 1):
        ts = (END - timedelta(hours=hours)).timestamp()
        for service in SERVICES:
            for metric in ("latency_p99_ms", "error_rate", "cpu_pct"):
                samples.append({"service": service, "metric": metric, "ts": ts,
                                "value": round(_value(service, metric, hours), 6)})  # fmt: skip
    answer = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    incidents = [
        {"service": s, "type": t, "start": (END - timedelta(hours=h)).timestamp(),
         "end": (END - timedelta(hours=h) + timedelta(minutes=m)).timestamp(), "title": title}
        for s, t, h, m, title in INCIDENTS
    ]  # fmt: skip
    answer = await client.post(
        "/api/v1/incidents", json={"incidents": incidents}, headers=bearer(key)
    )
    assert answer.is_success, answer.text
    slos = [
        {"name": "payments-latency", "service": "payments", "objective": 0.99,
         "sli": {"type": "threshold", "metric": {"query": "latency_p99_ms"}, "op": "lte",
                 "value": 250}},
        {"name": "checkout-errors", "service": "checkout", "objective": 0.95,
         "sli": {"type": "threshold", "metric": {"query": "error_rate"}, "op": "lte",
                 "value": 0.02}},
    ]  # fmt: skip
    for slo in slos:
        answer = await client.post("/api/v1/slos", json=slo, headers=bearer(key))
        assert answer.status_code == 201, answer.text
    await _predictions(app, account)
    return Fleet(account, key)


async def _predictions(app: FastAPI, account: Account) -> None:
    from _predict_synthetic import tiny_model

    from failcast.models import FailurePrediction, Service
    from failcast.predict import registry

    async with services_of(app).db.session() as session:
        version = await registry.register(
            session, account.org_id, tiny_model(), source="imported", now=START
        )
        ids = dict((await session.execute(select(Service.name, Service.id))).all())
        for n, (alarm, outcome, p) in enumerate(JUDGED):
            session.add(FailurePrediction(
                org_id=account.org_id, service_id=ids["payments" if n % 2 else "search"],
                model_version_id=version.id, ts=START + timedelta(hours=12 * (n + 1)),
                horizon_h=24, probability=p, alarm=alarm, incident_type="latency_spike",
                confidence=0.6, risk_level="high" if alarm else "low", factors=[],
                outcome=outcome,
            ))  # fmt: skip
        await session.commit()
