"""The `alertmanager` channel against a real Alertmanager (Debian's prometheus-alertmanager):
Failcast's alerts appear in its API v2, are kept alive while firing and end on resolve."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factories import Account, bearer
from fastapi import FastAPI
from receivers import ALERTMANAGER, HttpReceiver, alertmanager, receiver

from failcast.deps import services_of
from failcast.egress import EgressPolicy, OutboundClient
from failcast.notify.channels import DeliveryError, build
from failcast.notify.payloads import AlertItem, Notification

__all__ = ["alertmanager", "receiver"]  # fixtures

# The Alertmanager listens on loopback, which an operator allows as a private network.
LOOPBACK = EgressPolicy((ipaddress.ip_network("127.0.0.0/8"),))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(ALERTMANAGER is None, reason="needs Debian's prometheus-alertmanager"),
]


async def shown(url: str) -> list[dict[str, Any]]:
    """The alerts Alertmanager holds (its API leaves out those that have ended)."""
    async with httpx.AsyncClient(timeout=60) as http:
        response = await http.get(f"{url}/api/v2/alerts")
    assert response.status_code == 200, response.text
    return list(response.json())


def notification(now: datetime, status: str) -> Notification:
    alert = AlertItem(
        id=7,
        fingerprint="f" * 32,
        status=status,  # type: ignore[arg-type]
        title="checkout-latency on checkout",
        severity="critical",
        service="checkout",
        labels={"alertname": "checkout-latency", "service": "checkout", "metric": "p99"},
        value=1234.5,
        started_at=now - timedelta(minutes=3),
        resolved_at=now if status == "resolved" else None,
        url="http://failcast.test/api/v1/alerts/7",
        context={"what": {"rule": "checkout-latency", "condition": "p99 > 600", "value": 1234.5}},
    )
    return Notification(
        id="n1",
        org_id=1,
        receiver="am",
        dedup_key="failcast-1-abc",
        group_key="g",
        status=status,  # type: ignore[arg-type]
        group_labels={"alertname": "checkout-latency"},
        alerts=[alert],
        sent_at=now,
    )


async def test_alerts_reach_alertmanager_and_end_on_resolve(alertmanager: str) -> None:
    now = datetime.now(UTC)
    # The second Alertmanager is down: one that accepts is enough.
    channel = build("alertmanager", "am", {"urls": [alertmanager, "http://127.0.0.1:1"]})
    async with OutboundClient(LOOPBACK) as http:
        assert await channel.send(notification(now, "firing"), http) == 200
        [alert] = await shown(alertmanager)
        assert alert["labels"] == {
            "alertname": "checkout-latency",
            "service": "checkout",
            "severity": "critical",
            "rule": "checkout-latency",
            "metric": "p99",
        }
        assert alert["annotations"]["summary"] == "checkout-latency on checkout"
        assert alert["annotations"]["explanation"] == "http://failcast.test/api/v1/alerts/7"
        assert alert["annotations"]["description"] == "p99 > 600 (value 1234.5)"
        assert alert["status"]["state"] == "active"
        assert alert["generatorURL"] == "http://failcast.test/api/v1/alerts/7"
        # Alive for four resend intervals unless re-sent.
        ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
        assert abs(ends - (now + timedelta(minutes=4))) < timedelta(seconds=1)

        # Acknowledged is still firing for Alertmanager.
        await channel.send(notification(now, "acknowledged"), http)
        [alert] = await shown(alertmanager)
        assert alert["annotations"]["acknowledged"] == "true"

        await channel.send(notification(now, "resolved"), http)
        assert await shown(alertmanager) == []

        dead = build("alertmanager", "am", {"urls": ["http://127.0.0.1:1"]})
        with pytest.raises(DeliveryError):
            await dead.send(notification(now, "firing"), http)


async def test_bearer_token_and_every_url_are_used(receiver: HttpReceiver) -> None:
    channel = build(
        "alertmanager",
        "am",
        {"urls": [f"{receiver.url}/one/", f"{receiver.url}/two"], "bearer_token": "t0ken"},
    )
    async with OutboundClient(LOOPBACK) as http:
        await channel.send(notification(datetime.now(UTC), "firing"), http)
    assert [r.path for r in receiver.requests] == ["/one/api/v2/alerts", "/two/api/v2/alerts"]
    assert {r.headers["Authorization"] for r in receiver.requests} == {"Bearer t0ken"}


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def test_the_notifier_keeps_alertmanager_told_until_resolved(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str, alertmanager: str
) -> None:
    await services_of(app).runner.stop()
    now = datetime.now(UTC).replace(microsecond=0)
    created = await client.post(
        "/api/v1/channels",
        json={"name": "am", "kind": "alertmanager", "config": {"urls": [alertmanager]}},
        headers=account.headers,
    )
    assert created.status_code == 201, created.text
    channel_id = created.json()["id"]
    # An alert from elsewhere, through Failcast's own Alertmanager-compatible intake.
    posted = {
        "labels": {"alertname": "DiskFilling", "service": "db", "severity": "warning"},
        "annotations": {"summary": "disk 95% full"},
        "startsAt": _iso(now - timedelta(minutes=10)),
        "endsAt": _iso(now + timedelta(hours=1)),
    }
    response = await client.post("/api/v2/alerts", json=[posted], headers=bearer(api_key))
    assert response.status_code == 200, response.text
    notifier = services_of(app).notifier

    async def delivered() -> int:
        log = await client.get(f"/api/v1/channels/{channel_id}/deliveries", headers=account.headers)
        return sum(1 for attempt in log.json() if attempt["success"])

    # After the default group_wait of 30 s, counted from when the intake stored the alert: a
    # few seconds after `now` on a loaded machine (`now` itself is cut to the second).
    await notifier.flush(now + timedelta(seconds=40))
    [alert] = await shown(alertmanager)
    assert alert["labels"]["alertname"] == "DiskFilling"
    assert alert["annotations"]["summary"] == "disk 95% full"
    [ours] = (await client.get("/api/v1/alerts", headers=account.headers)).json()["items"]
    assert alert["annotations"]["explanation"].endswith(f"/api/v1/alerts/{ours['id']}")
    # Re-sent every 60 s while firing, although the route repeats only every 4 h.
    await notifier.flush(now + timedelta(seconds=61))
    assert await delivered() == 1
    await notifier.flush(now + timedelta(seconds=101))
    assert await delivered() == 2

    resolved = {**posted, "endsAt": _iso(datetime.now(UTC) - timedelta(seconds=1))}
    await client.post("/api/v2/alerts", json=[resolved], headers=bearer(api_key))
    await notifier.flush(now + timedelta(seconds=170))
    assert await delivered() == 3
    assert await shown(alertmanager) == []
