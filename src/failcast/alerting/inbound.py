"""Alerts that other systems raise: Prometheus (or anything speaking Alertmanager's API v2)
posts them to `/api/v2/alerts`, and they become Failcast alerts that go through the same
grouping, silences, inhibition, routing and notifications as Failcast's own.

An alert is identified by its label set. A post with `endsAt` in the past resolves it; a firing
alert that is not posted again before its `endsAt` resolves by itself, as in Alertmanager
(Prometheus re-sends firing alerts every minute with `endsAt` a few minutes ahead).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting.lifecycle import record_event
from failcast.alerting.rules import SEVERITIES
from failcast.models import Alert
from failcast.models.alert import ACTIVE_STATES, AlertState, Severity

SOURCE = "alertmanager-api"
# Alertmanager's default `resolve_timeout`: how long an alert posted without `endsAt` lasts.
RESOLVE_TIMEOUT = timedelta(minutes=5)
MAX_ALERTS = 1000


class PostableAlert(BaseModel):
    """One alert as Alertmanager's API v2 takes it (`postableAlert`)."""

    labels: dict[str, str] = Field(description="Must include `alertname`; identifies the alert.")
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str | None = Field(default=None, max_length=2000)


def fingerprint(labels: dict[str, str]) -> str:
    """The identity of an inbound alert: its label set."""
    text = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return "am-" + hashlib.sha256(text.encode()).hexdigest()[:29]


_SEVERITY_ALIASES = {
    "page": Severity.critical,
    "error": Severity.critical,
    "ticket": Severity.warning,
}


def _severity(labels: dict[str, str]) -> Severity:
    value = labels.get("severity", "").lower()
    if value in SEVERITIES:
        return Severity(value)
    return _SEVERITY_ALIASES.get(value, Severity.warning)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


async def receive(
    session: AsyncSession, org_id: int, alerts: list[PostableAlert], now: datetime
) -> tuple[int, int]:
    """Create, refresh or resolve one Failcast alert per posted alert (not committed).
    Returns (firing, resolved) counts."""
    firing = resolved = 0
    for alert in alerts:
        labels = dict(alert.labels)
        fp = fingerprint(labels)
        existing = await session.scalar(
            select(Alert)
            .where(Alert.org_id == org_id, Alert.fingerprint == fp, Alert.state.in_(ACTIVE_STATES))
            .order_by(Alert.id.desc())
            .limit(1)
        )
        ends = _aware(alert.endsAt) if alert.endsAt is not None else None
        if ends is not None and ends <= now:
            if existing is not None:
                _resolve(session, existing, ends, "resolved by the sender")
                resolved += 1
            continue
        until = ends if ends is not None else now + RESOLVE_TIMEOUT
        summary = alert.annotations.get("summary") or alert.annotations.get("description")
        what = {
            "source": SOURCE,
            "condition": summary or labels["alertname"],
            "annotations": alert.annotations,
            "generator_url": alert.generatorURL,
        }
        if existing is None:
            started = _aware(alert.startsAt) if alert.startsAt is not None else now
            existing = Alert(
                org_id=org_id,
                rule_id=None,
                fingerprint=fp,
                state=AlertState.firing,
                severity=_severity(labels),
                service=labels.get("service") or labels.get("job"),
                title=(summary or labels["alertname"])[:500],
                labels=labels,
                context={"what": what, "external": {"ends_at": until.isoformat()}},
                started_at=min(started, now),
                fired_at=now,
                flapping=False,
            )
            session.add(existing)
            await session.flush()
            record_event(
                session, existing, "fired", now, message=f"from {SOURCE}: {what['condition']}"
            )
        else:
            existing.context = {
                **existing.context,
                "what": what,
                "external": {"ends_at": until.isoformat()},
            }
        existing.last_true_at = now
        existing.evaluated_at = now
        firing += 1
    return firing, resolved


def _resolve(session: AsyncSession, alert: Alert, at: datetime, message: str) -> None:
    alert.state = AlertState.resolved
    alert.resolved_at = at
    record_event(session, alert, "resolved", at, message=message)


async def expire(session: AsyncSession, org_id: int, now: datetime) -> int:
    """Resolve inbound alerts whose sender stopped re-posting them before their end time."""
    count = 0
    for alert in await session.scalars(
        select(Alert).where(
            Alert.org_id == org_id, Alert.rule_id.is_(None), Alert.state.in_(ACTIVE_STATES)
        )
    ):
        ends = (alert.context.get("external") or {}).get("ends_at")
        if ends is not None and datetime.fromisoformat(ends) <= now:
            _resolve(session, alert, now, "not re-sent before its end time")
            count += 1
    return count


async def org_ids_with_inbound(session: AsyncSession) -> list[int]:
    """Orgs with active inbound alerts, which the alerting job must visit to expire them."""
    rows = await session.scalars(
        select(Alert.org_id)
        .where(Alert.rule_id.is_(None), Alert.state.in_(ACTIVE_STATES))
        .distinct()
    )
    return sorted(rows)
