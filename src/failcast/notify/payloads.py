"""A notification about one aggregation group, and the bodies each receiver expects:
Slack Block Kit, PagerDuty Events API v2, email (text and HTML), Failcast's own webhook
JSON, Alertmanager's webhook payload (version 4) and the alerts Alertmanager's own API takes."""

from __future__ import annotations

import html
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from failcast.models import Alert, NotificationEvent

Status = Literal["firing", "acknowledged", "resolved"]
Event = NotificationEvent
EVENT_OF: dict[str, Event] = {
    "firing": "trigger",
    "acknowledged": "acknowledge",
    "resolved": "resolve",
}
_ZERO_TIME = "0001-01-01T00:00:00Z"
_PD_SEVERITY = {"critical": "critical", "warning": "warning", "info": "info"}


def rfc3339(at: datetime | None) -> str:
    if at is None:
        return _ZERO_TIME
    return at.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AlertItem:
    """One alert as notifications show it."""

    id: int
    fingerprint: str
    status: Status
    title: str
    severity: str
    service: str | None
    labels: Mapping[str, str]
    value: float | None
    started_at: datetime
    resolved_at: datetime | None
    url: str
    context: Mapping[str, Any] = field(default_factory=dict)

    def annotations(self) -> dict[str, str]:
        what = self.context.get("what") or {}
        notes = {"summary": self.title}
        if what.get("condition"):
            notes["description"] = f"{what['condition']} (value {what.get('value')})"
        steps = self.context.get("recommendations") or []
        if steps:
            notes["runbook"] = " | ".join(str(s) for s in steps)
        return notes


@dataclass(frozen=True, slots=True)
class Notification:
    """What one channel is told about one group at one flush."""

    id: str
    org_id: int
    receiver: str
    dedup_key: str
    group_key: str
    status: Status
    group_labels: Mapping[str, str]
    alerts: Sequence[AlertItem]
    sent_at: datetime
    external_url: str = ""
    test: bool = False

    @property
    def event(self) -> Event:
        return EVENT_OF[self.status]

    @property
    def common_labels(self) -> dict[str, str]:
        if not self.alerts:
            return {}
        common = dict(self.alerts[0].labels)
        for alert in self.alerts[1:]:
            common = {k: v for k, v in common.items() if alert.labels.get(k) == v}
        return common

    @property
    def severity(self) -> str:
        order = {"critical": 0, "warning": 1, "info": 2}
        levels = [a.severity for a in self.alerts] or ["info"]
        return min(levels, key=lambda s: order.get(s, 3))

    def counts(self) -> dict[str, int]:
        counts = {"firing": 0, "acknowledged": 0, "resolved": 0}
        for alert in self.alerts:
            counts[alert.status] += 1
        return counts

    @property
    def summary(self) -> str:
        prefix = "[TEST] " if self.test else ""
        label = ", ".join(f"{k}={v}" for k, v in sorted(self.group_labels.items()))
        first = self.alerts[0].title if self.alerts else "no alerts"
        more = f" and {len(self.alerts) - 1} more" if len(self.alerts) > 1 else ""
        head = f"[{self.status.upper()}:{len(self.alerts)}]"
        return f"{prefix}{head} {first}{more}" + (f" ({label})" if label else "")


def failcast_payload(n: Notification) -> dict[str, Any]:
    """Failcast's own webhook body."""
    return {
        "version": "1",
        "id": n.id,
        "test": n.test,
        "status": n.status,
        "event": n.event,
        "receiver": n.receiver,
        "dedup_key": n.dedup_key,
        "group_key": n.group_key,
        "group_labels": dict(n.group_labels),
        "common_labels": n.common_labels,
        "summary": n.summary,
        "sent_at": rfc3339(n.sent_at),
        "alerts": [
            {
                "id": a.id,
                "fingerprint": a.fingerprint,
                "status": a.status,
                "title": a.title,
                "severity": a.severity,
                "service": a.service,
                "labels": dict(a.labels),
                "value": a.value,
                "started_at": rfc3339(a.started_at),
                "resolved_at": rfc3339(a.resolved_at) if a.resolved_at else None,
                "url": a.url,
                "context": dict(a.context),
            }
            for a in n.alerts
        ],
    }


def alertmanager_payload(n: Notification) -> dict[str, Any]:
    """Alertmanager's webhook body, version 4. Acknowledged alerts are still firing there."""
    alerts = [
        {
            "status": "resolved" if a.status == "resolved" else "firing",
            "labels": dict(a.labels),
            "annotations": a.annotations(),
            "startsAt": rfc3339(a.started_at),
            "endsAt": rfc3339(a.resolved_at),
            "generatorURL": a.url,
            "fingerprint": a.fingerprint,
        }
        for a in n.alerts
    ]
    notes = [a.annotations() for a in n.alerts]
    common_annotations = dict(notes[0]) if notes else {}
    for other in notes[1:]:
        common_annotations = {k: v for k, v in common_annotations.items() if other.get(k) == v}
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": n.receiver,
        "groupLabels": dict(n.group_labels),
        "commonLabels": n.common_labels,
        "commonAnnotations": common_annotations,
        "externalURL": n.external_url,
        "alerts": alerts,
    }


def alertmanager_alerts(n: Notification, *, expires_after: timedelta) -> list[dict[str, Any]]:
    """The body of Alertmanager's `POST /api/v2/alerts`, as Prometheus sends it: a firing
    (or acknowledged) alert ends `expires_after` from now unless it is sent again, so an
    Alertmanager that stops hearing from Failcast resolves it by itself; a resolved alert
    ends when it resolved."""
    alerts = []
    for a in n.alerts:
        labels = dict(a.labels)
        labels.setdefault("alertname", a.title)
        labels["severity"] = a.severity
        if a.service:
            labels["service"] = a.service
        rule = (a.context.get("what") or {}).get("rule")
        if rule:
            labels.setdefault("rule", str(rule))
        notes = a.annotations()
        if a.url:
            notes["explanation"] = a.url
        if a.status == "acknowledged":
            notes["acknowledged"] = "true"
        alive = n.sent_at + expires_after
        ends = (a.resolved_at or n.sent_at) if a.status == "resolved" else alive
        alerts.append(
            {
                "labels": {k: v for k, v in labels.items() if v != ""},
                "annotations": notes,
                # Alertmanager refuses an alert that ends before it starts (400), which an
                # alert resolved by its sender's end time can.
                "startsAt": rfc3339(min(a.started_at, ends)),
                "endsAt": rfc3339(ends),
                "generatorURL": a.url,
            }
        )
    return alerts


_EMOJI = {"firing": ":rotating_light:", "acknowledged": ":eyes:", "resolved": ":white_check_mark:"}


def slack_payload(n: Notification, channel: str | None = None) -> dict[str, Any]:
    """An incoming-webhook message in Block Kit, with `text` as the notification fallback."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": n.summary[:150], "emoji": True},
        }
    ]
    for alert in n.alerts[:20]:
        what = alert.context.get("what") or {}
        lines = [f"{_EMOJI[alert.status]} *{alert.title}* — `{alert.severity}` {alert.status}"]
        if what.get("condition"):
            lines.append(f"{what['condition']}: value `{what.get('value')}`")
        if alert.context.get("time_to_impact_hours") is not None:
            lines.append(f"Predicted impact in {alert.context['time_to_impact_hours']:.1f} h")
        steps = alert.context.get("recommendations") or []
        if steps and alert.status != "resolved":
            lines.append(f"Next step: {steps[0]}")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    context = f"{len(n.alerts)} alert(s) · dedup `{n.dedup_key}`"
    if n.alerts and n.alerts[0].url:
        context += f" · <{n.alerts[0].url}|open>"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": context}]})
    payload: dict[str, Any] = {"text": n.summary, "blocks": blocks}
    if channel:
        payload["channel"] = channel
    return payload


def pagerduty_event(n: Notification, routing_key: str, client: str = "Failcast") -> dict[str, Any]:
    """An Events API v2 event; acknowledge and resolve carry only the key and dedup_key."""
    event: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": n.event,
        "dedup_key": n.dedup_key,
    }
    if n.event != "trigger":
        return event
    first = n.alerts[0] if n.alerts else None
    event["payload"] = {
        "summary": n.summary[:1024],
        "source": (first.service if first and first.service else "failcast"),
        "severity": _PD_SEVERITY.get(n.severity, "info"),
        "timestamp": rfc3339(first.started_at if first else n.sent_at),
        "component": first.labels.get("metric", "") if first else "",
        "group": ",".join(f"{k}={v}" for k, v in sorted(n.group_labels.items())),
        "class": first.labels.get("incident_type", "") if first else "",
        "custom_details": {
            "alerts": [
                {"title": a.title, "status": a.status, "value": a.value, "labels": dict(a.labels)}
                for a in n.alerts
            ]
        },
    }
    event["client"] = client
    if first and first.url:
        event["links"] = [{"href": first.url, "text": "Alert in Failcast"}]
    return event


def email_bodies(n: Notification) -> tuple[str, str, str]:
    """Subject, plain text and HTML of an email notification."""
    lines = [n.summary, ""]
    rows = []
    for a in n.alerts:
        what = a.context.get("what") or {}
        lines.append(f"- [{a.status}] {a.title} ({a.severity})")
        if what.get("condition"):
            lines.append(f"  {what['condition']}: value {what.get('value')}")
        if a.url:
            lines.append(f"  {a.url}")
        rows.append(
            "<tr>"
            f"<td>{html.escape(a.status)}</td><td>{html.escape(a.severity)}</td>"
            f'<td><a href="{html.escape(a.url)}">{html.escape(a.title)}</a></td>'
            f"<td>{html.escape(str(what.get('condition', '')))}</td>"
            f"<td>{html.escape(str(a.value))}</td>"
            "</tr>"
        )
    text = "\n".join(lines) + "\n"
    body = (
        "<html><body>"
        f"<h2>{html.escape(n.summary)}</h2>"
        '<table border="1" cellpadding="4" cellspacing="0">'
        "<tr><th>status</th><th>severity</th><th>alert</th><th>condition</th><th>value</th></tr>"
        + "".join(rows)
        + "</table></body></html>"
    )
    return n.summary[:200], text, body


def alert_item(alert: Alert, external_url: str) -> AlertItem:
    """An alert as notifications show it, linked to its page of the API."""
    return AlertItem(
        id=alert.id,
        fingerprint=alert.fingerprint,
        status=alert.state,  # type: ignore[arg-type]
        title=alert.title,
        severity=alert.severity,
        service=alert.service,
        labels=dict(alert.labels),
        value=alert.value,
        started_at=alert.fired_at or alert.started_at,
        resolved_at=alert.resolved_at,
        url=f"{external_url}/api/v1/alerts/{alert.id}",
        context=dict(alert.context),
    )


def test_notification(
    org_id: int, channel_id: int, receiver: str, now: datetime, external_url: str
) -> Notification:
    """The one-alert notification that `POST /channels/{id}/test` sends."""
    item = AlertItem(
        id=0,
        fingerprint="test",
        status="firing",
        title="Failcast test notification",
        severity="info",
        service=None,
        labels={"alertname": "FailcastTest", "severity": "info"},
        value=None,
        started_at=now,
        resolved_at=None,
        url=external_url,
    )
    return Notification(
        id=uuid.uuid4().hex,
        org_id=org_id,
        receiver=receiver,
        dedup_key=f"failcast-test-{channel_id}",
        group_key="test",
        status="firing",
        group_labels={"alertname": "FailcastTest"},
        alerts=[item],
        sent_at=now,
        external_url=external_url,
        test=True,
    )
