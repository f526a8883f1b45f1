"""Every channel kind against a real local receiver, the delivery retries, and the channel API."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import UTC, datetime

import httpx
import pytest
from factories import Account, create_api_key
from fastapi import FastAPI
from receivers import HttpReceiver, SmtpReceiver, receiver, smtp

from failcast.deps import services_of
from failcast.egress import EgressPolicy, OutboundClient
from failcast.models import DeliveryAttempt
from failcast.notify.channels import CHANNEL_TYPES, DeliveryError, build, redacted, sign
from failcast.notify.delivery import RetryPolicy, deliver
from failcast.notify.payloads import AlertItem, Notification

__all__ = ["receiver", "smtp"]  # fixtures

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# The receivers listen on loopback, which an operator allows as a private network.
LOOPBACK = EgressPolicy((ipaddress.ip_network("127.0.0.0/8"),))
SECRET = "0123456789abcdef-secret"


def notification(status: str = "firing") -> Notification:
    alert = AlertItem(
        id=7,
        fingerprint="f" * 32,
        status=status,  # type: ignore[arg-type]
        title="slow on checkout",
        severity="critical",
        service="checkout",
        labels={"alertname": "slow", "service": "checkout", "severity": "critical"},
        value=1234.5,
        started_at=NOW,
        resolved_at=NOW if status == "resolved" else None,
        url="http://failcast.test/api/v1/alerts/7",
        context={
            "what": {"condition": "avg(latency[5m]) > 600", "value": 1234.5},
            "recommendations": ["Check the database"],
        },
    )
    return Notification(
        id="n1",
        org_id=1,
        receiver="r",
        dedup_key="failcast-1-abc",
        group_key="g",
        status=status,  # type: ignore[arg-type]
        group_labels={"alertname": "slow"},
        alerts=[alert],
        sent_at=NOW,
        external_url="http://failcast.test",
    )


def configs(http: HttpReceiver, mail: SmtpReceiver) -> dict[str, dict[str, object]]:
    return {
        "slack": {"url": f"{http.url}/slack"},
        "pagerduty": {"routing_key": "KEY", "url": f"{http.url}/v2/enqueue"},
        "email": {
            "host": "127.0.0.1",
            "port": mail.port,
            "sender": "fc@example.com",
            "to": ["oncall@example.com"],
        },
        "webhook": {"url": f"{http.url}/hook", "secret": SECRET},
        "alertmanager": {"urls": [http.url]},
    }


@pytest.mark.parametrize("kind", sorted(CHANNEL_TYPES))
async def test_every_channel_delivers_and_reports_failures(
    kind: str, receiver: HttpReceiver, smtp: SmtpReceiver
) -> None:
    channel = build(kind, "c", configs(receiver, smtp)[kind])
    async with OutboundClient(LOOPBACK) as http:
        status = await channel.send(notification(), http)
        delivered = len(smtp.messages) if kind == "email" else len(receiver.requests)
        assert delivered == 1 and status in (200, 250)
        # The same channel pointed at a dead port fails with a DeliveryError, not a crash.
        dead = dict(configs(receiver, smtp)[kind])
        if kind == "email":
            dead["port"] = 1
        elif kind == "alertmanager":
            dead["urls"] = ["http://127.0.0.1:1"]
        else:
            dead["url"] = "http://127.0.0.1:1/x"
        with pytest.raises(DeliveryError):
            await build(kind, "c", dead).send(notification(), http)
    secret_fields = CHANNEL_TYPES[kind].secret_fields
    shown = redacted(kind, channel.config.model_dump())
    assert all(shown[name] == "********" for name in secret_fields if shown.get(name))


async def test_slack_block_kit_and_pagerduty_events(receiver: HttpReceiver) -> None:
    async with OutboundClient(LOOPBACK) as http:
        await build("slack", "s", {"url": f"{receiver.url}/s", "channel": "#ops"}).send(
            notification(), http
        )
        pd = build("pagerduty", "p", {"routing_key": "KEY", "url": f"{receiver.url}/v2/enqueue"})
        await pd.send(notification(), http)
        await pd.send(notification("acknowledged"), http)
        await pd.send(notification("resolved"), http)
    slack, trigger, ack, resolve = receiver.bodies()
    assert slack["channel"] == "#ops"
    assert slack["text"] == "[FIRING:1] slow on checkout (alertname=slow)"
    assert [b["type"] for b in slack["blocks"]] == ["header", "section", "context"]
    assert "Next step: Check the database" in slack["blocks"][1]["text"]["text"]
    assert trigger["payload"] | {"custom_details": None} == {
        "summary": "[FIRING:1] slow on checkout (alertname=slow)",
        "source": "checkout",
        "severity": "critical",
        "timestamp": "2026-03-01T12:00:00Z",
        "component": "",
        "group": "alertname=slow",
        "class": "",
        "custom_details": None,
    }
    assert ack == {
        "routing_key": "KEY",
        "event_action": "acknowledge",
        "dedup_key": "failcast-1-abc",
    }
    assert resolve["event_action"] == "resolve" and resolve["dedup_key"] == trigger["dedup_key"]


async def test_webhook_signature_and_alertmanager_format(receiver: HttpReceiver) -> None:
    receiver.secret = SECRET
    async with OutboundClient(LOOPBACK) as http:
        await build("webhook", "w", {"url": f"{receiver.url}/a", "secret": SECRET}).send(
            notification(), http
        )
        am = build(
            "webhook", "w", {"url": f"{receiver.url}/b", "secret": SECRET, "format": "alertmanager"}
        )
        await am.send(notification("resolved"), http)
        assert not am.wants(notification("acknowledged"))
        wrong = build("webhook", "w", {"url": f"{receiver.url}/c", "secret": "not-the-secret-key"})
        with pytest.raises(DeliveryError) as caught:
            await wrong.send(notification(), http)
    assert caught.value.status_code == 401 and caught.value.permanent
    assert receiver.bad_signatures == 1
    own, alertmanager = receiver.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), own.body, hashlib.sha256).hexdigest()
    assert own.headers["X-Failcast-Signature"] == expected == sign(SECRET, own.body)
    assert own.json["alerts"][0]["value"] == 1234.5 and own.json["event"] == "trigger"
    body = alertmanager.json
    assert set(body) == {
        "version",
        "groupKey",
        "truncatedAlerts",
        "status",
        "receiver",
        "groupLabels",
        "commonLabels",
        "commonAnnotations",
        "externalURL",
        "alerts",
    }
    assert (body["version"], body["status"]) == ("4", "resolved")
    [alert] = body["alerts"]
    assert alert["startsAt"] == alert["endsAt"] == "2026-03-01T12:00:00Z"
    assert alert["annotations"]["summary"] == "slow on checkout"


async def test_email_is_multipart_text_and_html(smtp: SmtpReceiver) -> None:
    config = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "sender": "fc@example.com",
        "to": ["a@example.com", "b@example.com"],
    }
    async with OutboundClient(LOOPBACK) as http:
        await build("email", "e", config).send(notification(), http)
    [(sender, recipients, message)] = smtp.messages
    assert sender == "fc@example.com" and recipients == ["a@example.com", "b@example.com"]
    assert message["Subject"] == "[FIRING:1] slow on checkout (alertname=slow)"
    parts = {part.get_content_type(): part.get_payload(decode=True) for part in message.walk()}
    assert b"avg(latency[5m]) > 600" in parts["text/plain"]
    assert b"<table" in parts["text/html"]


async def test_retries_back_off_until_the_attempts_run_out(
    receiver: HttpReceiver, app: FastAPI
) -> None:
    receiver.fail_first = 3
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    channel = build("slack", "s", {"url": f"{receiver.url}/s"})
    async with services_of(app).db.session() as session, OutboundClient(LOOPBACK) as http:
        # No channel row is needed to exercise the loop; the attempts are never flushed.
        outcome = await deliver(
            session,
            0,
            channel,
            notification(),
            http,
            policy=RetryPolicy(attempts=3, initial_seconds=2, factor=3),
            sleep=sleep,
        )
        attempts = [o for o in session.new if isinstance(o, DeliveryAttempt)]
        await session.rollback()
    assert not outcome.delivered and outcome.attempts == 3 and outcome.status_code == 500
    assert sleeps == [2.0, 6.0]
    assert [(a.attempt, a.status_code, a.success) for a in attempts] == [
        (1, 500, False),
        (2, 500, False),
        (3, 500, False),
    ]
    assert RetryPolicy(max_seconds=5).delay(10) == 5


async def test_channel_api_is_admin_only_redacts_and_tests(
    client: httpx.AsyncClient, account: Account, receiver: HttpReceiver
) -> None:
    h = account.headers
    bad = await client.post(
        "/api/v1/channels",
        json={"name": "w", "kind": "webhook", "config": {"url": "ftp://x", "secret": "short"}},
        headers=h,
    )
    assert bad.status_code == 422
    assert {p["field"] for p in bad.json()["detail"]} == {"config.url", "config.secret"}
    created = await client.post(
        "/api/v1/channels",
        json={
            "name": "w",
            "kind": "webhook",
            "config": {"url": f"{receiver.url}/t", "secret": SECRET},
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["config"]["secret"] == "********"
    # Sending the placeholder back keeps the stored secret.
    patched = await client.patch(
        f"/api/v1/channels/{channel['id']}",
        json={"config": channel["config"] | {"format": "alertmanager"}},
        headers=h,
    )
    assert patched.status_code == 200 and patched.json()["config"]["format"] == "alertmanager"
    receiver.secret = SECRET
    tested = await client.post(f"/api/v1/channels/{channel['id']}/test", headers=h)
    assert tested.json() == {"delivered": True, "result": "delivered"}
    assert receiver.bad_signatures == 0 and len(receiver.requests) == 1
    log = (await client.get(f"/api/v1/channels/{channel['id']}/deliveries", headers=h)).json()
    assert [(d["event"], d["attempt"], d["success"]) for d in log] == [("test", 1, True)]

    key = await create_api_key(client, account, ["read", "write", "ingest"])
    denied = await client.get("/api/v1/channels", headers={"Authorization": f"Bearer {key}"})
    assert denied.status_code == 403
    policy = await client.put(
        "/api/v1/notification-policy", json={"route": {"receivers": ["nobody"]}}, headers=h
    )
    assert policy.status_code == 422
    assert policy.json()["detail"] == [
        {"field": "route.receivers", "msg": "no channel named 'nobody'"}
    ]
