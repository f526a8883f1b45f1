"""Rule evaluation at injected times: pending, firing, keep_firing_for, auto-resolve,
flapping, anomaly scores, signal providers and the context attached to alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from factories import Account, bearer
from fastapi import FastAPI

from failcast.alerting import evaluate_org
from failcast.db.transactions import session_scope
from failcast.deps import services_of
from failcast.signals import Factor, Signal, SignalRegistry, StaticSignals

T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=3)


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


async def ingest(
    client: httpx.AsyncClient,
    key: str,
    values: list[float],
    *,
    service: str = "api",
    metric: str = "cpu_pct",
    labels: dict[str, str] | None = None,
) -> None:
    """One sample a minute from minute 0."""
    samples = [
        {
            "service": service,
            "metric": metric,
            "labels": labels or {},
            "ts": at(i).isoformat(),
            "value": v,
        }
        for i, v in enumerate(values)
    ]
    response = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert response.status_code == 200, response.text


async def add_rule(client: httpx.AsyncClient, account: Account, **rule: Any) -> int:
    response = await client.post("/api/v1/alert-rules", json=rule, headers=account.headers)
    assert response.status_code == 201, response.text
    rule_id: int = response.json()["id"]
    return rule_id


async def evaluate(
    app: FastAPI, account: Account, minute: float, signals: SignalRegistry | None = None
) -> None:
    async with session_scope(services_of(app).db) as session:
        await evaluate_org(session, account.org_id, at(minute), signals=signals)


async def alerts(
    client: httpx.AsyncClient, account: Account, **params: Any
) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/alerts", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_for_keep_firing_and_auto_resolve(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    # cpu: 50 for ten minutes, 95 for minutes 10..14, then 50 again.
    await ingest(client, api_key, [50.0] * 10 + [95.0] * 5 + [50.0] * 15)
    await add_rule(
        client,
        account,
        kind="threshold",
        name="hot-cpu",
        metric="cpu_pct",
        op=">",
        value=90,
        window="1m",
        agg="last",
        baseline_window="10m",
        **{"for": "2m"},
        keep_firing_for="3m",
    )
    await evaluate(app, account, 10)
    assert await alerts(client, account) == []
    [pending] = await alerts(client, account, state="pending")
    await evaluate(app, account, 11)
    assert await alerts(client, account) == []  # `for: 2m` has not passed yet
    await evaluate(app, account, 12)
    [firing] = await alerts(client, account)
    assert firing["id"] == pending["id"] and firing["state"] == "firing"
    assert firing["fired_at"] == at(12).isoformat().replace("+00:00", "Z")
    what = firing["context"]["what"]
    # Baseline: samples of the ten minutes before the one-minute window (minutes 2..11).
    assert what["value"] == 95.0 and what["baseline"] == 59.0
    assert firing["labels"] == {
        "alertname": "hot-cpu",
        "severity": "warning",
        "rule_kind": "threshold",
        "incident_type": "resource_exhaustion",
        "metric": "cpu_pct",
        "service": "api",
    }
    # Minute 15 is back to 50, but keep_firing_for holds it until 3 minutes after 14.
    for minute in (13, 14, 15, 16):
        await evaluate(app, account, minute)
        assert (await alerts(client, account))[0]["state"] == "firing"
    await evaluate(app, account, 17)
    [resolved] = await alerts(client, account)
    assert resolved["state"] == "resolved"
    assert resolved["resolved_at"] == at(17).isoformat().replace("+00:00", "Z")
    detail = (await client.get(f"/api/v1/alerts/{resolved['id']}", headers=account.headers)).json()
    assert [(e["kind"], e["message"]) for e in detail["timeline"]] == [
        ("fired", "last(cpu_pct[1m]) > 90 for 2m: value 95.0"),
        ("resolved", "condition cleared"),
    ]


async def test_flapping_instance_is_held_firing(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    # Alternates 95 / 50 every minute: fires, resolves, fires...
    await ingest(client, api_key, [95.0, 50.0] * 10)
    await add_rule(
        client,
        account,
        kind="threshold",
        name="flappy",
        metric="cpu_pct",
        value=90,
        window="1m",
        agg="last",
        flap={"max_changes": 3, "window": "1h"},
    )
    for minute in range(0, 6):
        await evaluate(app, account, minute)
    history = await alerts(client, account)
    # Changes: fired 0, resolved 1, fired 2 (3 changes); resolving at 3 would be the 4th.
    assert [a["state"] for a in history] == ["firing", "resolved"]
    current = history[0]
    assert current["flapping"] is True
    detail = (await client.get(f"/api/v1/alerts/{current['id']}", headers=account.headers)).json()
    assert [e["kind"] for e in detail["timeline"]] == ["fired", "flapping"]


async def test_anomaly_score_rule_reads_the_score_series(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await ingest(
        client,
        api_key,
        [0.1] * 10 + [0.97, 0.4],
        metric="anomaly_score",
        labels={"metric": "latency_p99_ms", "detector": "ensemble"},
    )
    await ingest(client, api_key, [0.99] * 12, metric="anomaly_score", labels={"metric": "cpu"})
    await add_rule(
        client,
        account,
        kind="anomaly_score",
        name="latency-anomaly",
        above=0.9,
        source_metric="latency_p99_ms",
        window="2m",
    )
    await evaluate(app, account, 11)
    [alert] = await alerts(client, account)
    assert alert["value"] == 0.97  # the max over the window
    assert alert["labels"]["detector"] == "ensemble"
    assert alert["labels"]["incident_type"] == "latency_spike"
    assert alert["context"]["what"]["effect_size"] is None  # a constant baseline has no spread


async def test_provider_rules_fire_with_their_context(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> None:
    registry = SignalRegistry()
    predictions = StaticSignals(
        [
            Signal(
                "checkout",
                0.82,
                time_to_impact_hours=6.5,
                factors=[Factor("memory_pct trend", 0.41), Factor("error_rate", 0.12)],
                labels={"incident_type": "resource_exhaustion"},
            ),
            Signal("search", 0.2),
        ]
    )
    registry.register("failure_probability", predictions)
    registry.register("slo_burn", StaticSignals([Signal("api", 1.0, labels={"slo": "avail"})]))
    registry.register("forecast_breach", StaticSignals([Signal("db", 3.0, labels={"m": "disk"})]))
    registry.register("drift", StaticSignals([Signal("fraud-model", 0.4)]))
    for rule in (
        {"kind": "failure_probability", "name": "may-fail", "above": 0.7, "severity": "critical"},
        {"kind": "slo_burn", "name": "slo-page", "tier": "page"},
        {"kind": "slo_burn", "name": "slo-ticket", "tier": "ticket"},
        {"kind": "forecast_breach", "name": "disk-full-soon", "below_hours": 12},
        {"kind": "drift", "name": "drifting", "above": 0.5},
    ):
        await add_rule(client, account, **rule)
    await evaluate(app, account, 0, registry)
    fired = {a["labels"]["alertname"]: a for a in await alerts(client, account)}
    assert sorted(fired) == ["disk-full-soon", "may-fail", "slo-ticket"]
    may_fail = fired["may-fail"]
    assert may_fail["service"] == "checkout" and may_fail["value"] == 0.82
    assert may_fail["context"]["time_to_impact_hours"] == 6.5
    assert may_fail["context"]["factors"][0] == {"name": "memory_pct trend", "contribution": 0.41}
    assert may_fail["labels"]["incident_type"] == "resource_exhaustion"
    assert fired["disk-full-soon"]["labels"]["m"] == "disk"
    # The prediction drops: the alert resolves; with no provider at all, nothing fires.
    predictions.set([Signal("checkout", 0.3)])
    await evaluate(app, account, 1, registry)
    states = {a["labels"]["alertname"]: a["state"] for a in await alerts(client, account)}
    assert states["may-fail"] == "resolved" and states["slo-ticket"] == "firing"
    await evaluate(app, account, 2, SignalRegistry())
    assert all(a["state"] == "resolved" for a in await alerts(client, account))


async def test_context_uses_org_playbook_and_incident_history(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    incidents = [
        {
            "service": "api",
            "type": "latency_spike",
            "start": at(-600 + 100 * i).isoformat(),
            "end": at(-600 + 100 * i + minutes).isoformat(),
            "source": "import",
        }
        for i, minutes in enumerate([10, 60, 20])
    ]
    response = await client.post(
        "/api/v1/incidents", json={"incidents": incidents}, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text
    response = await client.put(
        "/api/v1/playbooks/latency_spike",
        json={"steps": ["Page the API team", "Fail over to the standby region"]},
        headers=account.headers,
    )
    assert response.status_code == 200
    await ingest(client, api_key, [900.0] * 5, metric="latency_p99_ms")
    await add_rule(
        client, account, kind="threshold", name="slow", metric="latency_p99_ms", value=500
    )
    await evaluate(app, account, 4)
    [alert] = await alerts(client, account)
    assert alert["context"]["mttr"] == {
        "incidents": 3,
        "median_minutes": 20.0,
        "min_minutes": 10.0,
        "max_minutes": 60.0,
    }
    assert alert["context"]["recommendations"] == [
        "Page the API team",
        "Fail over to the standby region",
    ]


async def test_a_rule_selects_series_with_promql_matchers(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    for path in ("/v1/users", "/v1/orders", "/v2/users"):
        await ingest(client, api_key, [95.0] * 5, metric="latency_ms", labels={"path": path})
    await ingest(client, api_key, [95.0] * 5, metric="latency_ms")
    await add_rule(
        client,
        account,
        kind="threshold",
        name="slow-v1",
        metric="latency_ms",
        op=">",
        value=90,
        window="5m",
        agg="last",
        match='{path=~"/v1/.*", path!="/v1/orders"}',
    )
    await evaluate(app, account, 4)
    [firing] = await alerts(client, account)
    assert firing["labels"]["path"] == "/v1/users"
    refused = await client.post(
        "/api/v1/alert-rules",
        json={"kind": "threshold", "name": "bad", "metric": "m", "value": 1, "match": '{p=~"("}'},
        headers=account.headers,
    )
    assert refused.status_code == 422
    [problem] = refused.json()["detail"]
    assert problem["field"].endswith("match")
    assert problem["msg"].startswith("""'{p=~"("}' is not a series selector""")
