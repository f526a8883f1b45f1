"""A latency fault from the simulated fleet, ingested through the API, drives rules, the
notification timers and real local receivers from first page to resolution."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import Account, bearer
from fastapi import FastAPI

from failcast.alerting import evaluate_org
from failcast.chaos import Fleet
from failcast.db.transactions import session_scope
from failcast.deps import services_of
from failcast.notify.notifier import Notifier

# The real local receivers live with the notification tests; appended, so nothing is shadowed.
sys.path.append(str(Path(__file__).resolve().parent.parent / "notify"))
from receivers import HttpReceiver

# The fleet's clock starts two hours ago (ingest accepts 90 days back, 1 hour ahead).
T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
FAULT_START, FAULT_MINUTES, MINUTES = 10, 50, 75
SERVICES = ("checkout", "api-gateway", "database")


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def fleet_samples() -> list[dict[str, Any]]:
    """Minute samples of three services' p99 latency and error rate; checkout's network
    latency fault (about 90 ms -> 1090 ms p99) lasts from minute 10 to minute 60."""
    start = T0.timestamp()
    fleet = Fleet(seed=3, clock=lambda: start)
    samples = []
    for minute in range(MINUTES):
        now = start + minute * 60
        if minute == FAULT_START:
            fleet.start_fault("network_latency", "checkout", FAULT_MINUTES * 60, now=now)
        for s in fleet.tick(now):
            if s.service in SERVICES and s.metric in ("latency_p99_ms", "error_rate"):
                samples.append(
                    {"service": s.service, "metric": s.metric, "ts": s.ts, "value": s.value}
                )
    return samples


RULES = [
    {
        "kind": "threshold",
        "name": "checkout-latency",
        "severity": "critical",
        "service": "checkout",
        "metric": "latency_p99_ms",
        "op": ">",
        "value": 600,
        "window": "2m",
        "for": "1m",
    },
    {
        "kind": "threshold",
        "name": "gateway-latency",
        "severity": "warning",
        "service": "api-gateway",
        "metric": "latency_p99_ms",
        "op": ">",
        "value": 300,
        "window": "2m",
    },
]
# Always true: a gateway alert that is not about latency, so inhibition must leave it alone.
ERROR_RULE = {
    "kind": "threshold",
    "name": "gateway-errors",
    "severity": "warning",
    "service": "api-gateway",
    "metric": "error_rate",
    "op": ">=",
    "value": 0,
    "window": "2m",
}

POLICY = {
    "route": {
        "receivers": ["slack"],
        "group_by": ["alertname", "service"],
        "group_wait": "30s",
        "group_interval": "5m",
        "repeat_interval": "10m",
        "routes": [
            {"matchers": ['severity="critical"'], "receivers": ["pagerduty"], "continue": True},
            {"matchers": ['service=~"check.*"'], "receivers": ["hook"]},
        ],
    }
}
SECRET = "s3cret-signing-key-0123456789"


@dataclass
class Stack:
    app: FastAPI
    client: httpx.AsyncClient
    account: Account
    slack: HttpReceiver
    pagerduty: HttpReceiver
    hook: HttpReceiver
    channel_ids: dict[str, int]
    sleeps: list[float]

    @property
    def notifier(self) -> Notifier:
        notifier: Notifier = services_of(self.app).notifier
        return notifier

    async def tick(self, minute: float) -> None:
        """Evaluate the rules and flush notifications at fleet minute `minute`."""
        async with session_scope(services_of(self.app).db) as session:
            await evaluate_org(
                session, self.account.org_id, at(minute), topology=services_of(self.app).topology
            )
        await self.notifier.flush(at(minute))

    async def alert(self, name: str) -> dict[str, Any]:
        response = await self.client.get(
            "/api/v1/alerts", params={"text": name}, headers=self.account.headers
        )
        [item] = [a for a in response.json()["items"] if a["labels"]["alertname"] == name]
        return dict(item)


@pytest.fixture
async def stack(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> AsyncIterator[Stack]:
    slack = await HttpReceiver().start()
    pagerduty = await HttpReceiver(status=202).start()
    hook = await HttpReceiver(secret=SECRET, fail_first=2).start()
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    services_of(app).notifier.sleep = record_sleep
    try:
        response = await client.post(
            "/api/v1/metrics", json={"samples": fleet_samples()}, headers=bearer(api_key)
        )
        assert response.status_code == 200, response.text
        channels = {
            "slack": {"kind": "slack", "config": {"url": f"{slack.url}/services/T/B/X"}},
            "pagerduty": {
                "kind": "pagerduty",
                "config": {"routing_key": "R0UT1NGKEY", "url": f"{pagerduty.url}/v2/enqueue"},
            },
            "hook": {
                "kind": "webhook",
                "config": {"url": f"{hook.url}/am", "secret": SECRET, "format": "alertmanager"},
            },
        }
        ids = {}
        for name, body in channels.items():
            response = await client.post(
                "/api/v1/channels", json={"name": name, **body}, headers=account.headers
            )
            assert response.status_code == 201, response.text
            ids[name] = response.json()["id"]
        response = await client.put(
            "/api/v1/notification-policy", json=POLICY, headers=account.headers
        )
        assert response.status_code == 200, response.text
        for rule in RULES:
            response = await client.post("/api/v1/alert-rules", json=rule, headers=account.headers)
            assert response.status_code == 201, response.text
        yield Stack(app, client, account, slack, pagerduty, hook, ids, sleeps)
    finally:
        for receiver in (slack, pagerduty, hook):
            await receiver.stop()


def alertnames(receiver: HttpReceiver) -> list[set[str]]:
    names = []
    for body in receiver.bodies():
        if "alerts" in body:
            names.append({a["labels"]["alertname"] for a in body["alerts"]})
        elif "blocks" in body:
            names.append({body["text"]})
    return names


async def test_fault_pages_once_per_route_repeats_until_acknowledged_and_resolves(
    stack: Stack,
) -> None:
    # Minute 11: the gateway rule fires at once; checkout waits for its `for: 1m`.
    await stack.tick(11)
    pending = await stack.client.get(
        "/api/v1/alerts", params={"state": "pending"}, headers=stack.account.headers
    )
    assert [a["labels"]["alertname"] for a in pending.json()["items"]] == ["checkout-latency"]
    assert stack.slack.requests == []  # group_wait has not passed

    await stack.tick(11.5)  # the gateway group's group_wait is over
    assert len(stack.slack.requests) == 1
    await stack.tick(12)  # checkout fires; its groups wait 30 s
    assert stack.pagerduty.requests == [] and stack.hook.requests == []
    await stack.tick(12.5)

    # Exactly one grouped notification per matching route: the critical checkout alert
    # goes to PagerDuty (continue: true) and to the checkout route's webhook, not to Slack.
    [trigger] = stack.pagerduty.bodies()
    assert trigger["event_action"] == "trigger"
    assert trigger["routing_key"] == "R0UT1NGKEY"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["source"] == "checkout"
    dedup_key = trigger["dedup_key"]
    [am] = stack.hook.bodies()
    assert am["version"] == "4" and am["status"] == "firing"
    assert am["groupLabels"] == {"alertname": "checkout-latency", "service": "checkout"}
    assert [a["labels"]["alertname"] for a in am["alerts"]] == ["checkout-latency"]
    assert stack.hook.bad_signatures == 0
    [slack] = stack.slack.bodies()
    assert "gateway-latency" in slack["text"] and slack["blocks"][0]["type"] == "header"

    # The webhook answered 500 twice: delivered on the third try, after 1 s and 2 s.
    assert stack.hook.failures == 2
    assert stack.sleeps == [1.0, 2.0]
    log = await stack.client.get(
        f"/api/v1/channels/{stack.channel_ids['hook']}/deliveries", headers=stack.account.headers
    )
    attempts = sorted(log.json(), key=lambda d: d["attempt"])
    assert [(a["attempt"], a["status_code"], a["success"]) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 200, True),
    ]
    assert attempts[0]["error"] == "delivery failed: HTTP 500"

    # The context says what fired and why.
    checkout = await stack.alert("checkout-latency")
    what = checkout["context"]["what"]
    # The +1000 ms fault on top of a healthy p99 below 200 ms.
    assert 1000 < what["value"] < 1200 and what["window"] == "2m"
    assert checkout["context"]["incident_type"] == "latency_spike"
    assert checkout["context"]["mttr"] == {"incidents": 0, "note": "not enough history"}
    assert checkout["context"]["recommendations"]

    # Nothing changes for ten minutes: each firing group is repeated once.
    for minute in (17.5, 22.5):
        await stack.tick(minute)
    assert [b["event_action"] for b in stack.pagerduty.bodies()] == ["trigger", "trigger"]
    assert len(stack.slack.requests) == 2

    # Acknowledging checkout tells PagerDuty and stops its repeats; the gateway still repeats.
    response = await stack.client.post(
        f"/api/v1/alerts/{checkout['id']}/ack", headers=stack.account.headers
    )
    assert response.status_code == 200 and response.json()["state"] == "acknowledged"
    for minute in (27.5, 32.5, 37.5, 42.5, 47.5):
        await stack.tick(minute)
    events = [b["event_action"] for b in stack.pagerduty.bodies()]
    assert events == ["trigger", "trigger", "acknowledge"]
    assert len(stack.hook.requests) == 2  # one repeat at 22.5; Alertmanager has no ack
    assert len(stack.slack.requests) == 4  # 11.5, 21.5->22.5, 32.5, 42.5

    # The fault ends at minute 60: both alerts resolve on their own and say so.
    for minute in (52.5, 57.5, 62.5, 67.5):
        await stack.tick(minute)
    resolve = stack.pagerduty.bodies()[-1]
    assert resolve == {
        "routing_key": "R0UT1NGKEY",
        "event_action": "resolve",
        "dedup_key": dedup_key,
    }
    assert stack.hook.bodies()[-1]["status"] == "resolved"
    assert stack.hook.bodies()[-1]["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
    assert "RESOLVED" in stack.slack.bodies()[-1]["text"]
    checkout = await stack.alert("checkout-latency")
    assert checkout["state"] == "resolved"
    detail = await stack.client.get(
        f"/api/v1/alerts/{checkout['id']}", headers=stack.account.headers
    )
    kinds = [e["kind"] for e in detail.json()["timeline"]]
    assert kinds[0] == "fired" and "acknowledged" in kinds and "resolved" in kinds

    # Once resolved nothing more is sent.
    counts = (len(stack.pagerduty.requests), len(stack.hook.requests), len(stack.slack.requests))
    await stack.tick(72.5)
    assert counts == (
        len(stack.pagerduty.requests),
        len(stack.hook.requests),
        len(stack.slack.requests),
    )


async def test_silence_mutes_matching_alerts_only(stack: Stack) -> None:
    response = await stack.client.post(
        "/api/v1/silences",
        json={
            "matchers": ['service="checkout"', 'alertname=~"checkout-.*"'],
            "starts_at": at(0).isoformat(),
            "ends_at": at(40).isoformat(),
            "comment": "known network work",
        },
        headers=stack.account.headers,
    )
    assert response.status_code == 201, response.text
    for minute in (11, 11.5, 12, 12.5, 17.5):
        await stack.tick(minute)
    assert stack.pagerduty.requests == [] and stack.hook.requests == []
    assert len(stack.slack.requests) == 1  # the gateway alert is not silenced
    checkout = await stack.alert("checkout-latency")
    assert checkout["state"] == "firing"
    assert checkout["suppressed_by"] == f"silence:{response.json()['id']}"
    assert (await stack.alert("gateway-latency"))["suppressed_by"] is None


async def test_the_simulated_fleets_topology_inhibits_without_a_declared_one(
    stack: Stack,
) -> None:
    # No topology declared: the simulated fleet's (api-gateway -> checkout -> ...) is the graph.
    response = await stack.client.put(
        "/api/v1/chaos/simulator", json={"enabled": True}, headers=stack.account.headers
    )
    assert response.status_code == 200, response.text
    declared = await stack.client.get("/api/v1/topology", headers=stack.account.headers)
    assert declared.json()["services"] == []
    for minute in (11, 11.5, 12, 12.5, 17.5):
        await stack.tick(minute)
    gateway = await stack.alert("gateway-latency")
    checkout = await stack.alert("checkout-latency")
    assert checkout["severity"] == "critical" and checkout["state"] == "firing"
    assert gateway["suppressed_by"] == f"inhibited_by:{checkout['id']}"


async def test_critical_dependency_inhibits_dependent_latency_alerts_only(stack: Stack) -> None:
    topology = (
        "services:\n"
        "  - name: api-gateway\n"
        "    depends_on: [checkout]\n"
        "  - name: checkout\n"
        "    depends_on: [database]\n"
        "  - name: database\n"
    )
    response = await stack.client.put(
        "/api/v1/topology",
        content=topology,
        headers=stack.account.headers | {"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    response = await stack.client.post(
        "/api/v1/alert-rules", json=ERROR_RULE, headers=stack.account.headers
    )
    assert response.status_code == 201, response.text

    for minute in (11, 11.5):
        await stack.tick(minute)
    # Before checkout fires (pending), nothing inhibits the gateway's latency alert.
    sent = [b["text"] for b in stack.slack.bodies()]
    assert any("gateway-latency" in text for text in sent)
    assert any("gateway-errors" in text for text in sent)

    for minute in (12, 12.5, 17.5, 22.5, 27.5, 32.5):
        await stack.tick(minute)
    gateway = await stack.alert("gateway-latency")
    checkout = await stack.alert("checkout-latency")
    assert gateway["suppressed_by"] == f"inhibited_by:{checkout['id']}"
    assert (await stack.alert("gateway-errors"))["suppressed_by"] is None
    # The gateway latency group was muted: no repeat after 11.5, while the error group repeats.
    later = [b["text"] for b in stack.slack.bodies()[2:]]
    assert later and all("gateway-latency" not in text for text in later)
    assert any("gateway-errors" in text for text in later)
    assert [b["event_action"] for b in stack.pagerduty.bodies()] == [
        "trigger",
        "trigger",
        "trigger",
    ]
