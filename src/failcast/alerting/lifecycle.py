"""What people do to alerts: acknowledge, assign, comment, resolve, record as an incident.
Every change writes a timeline event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting import incidents
from failcast.auth.principal import Principal
from failcast.errors import Conflict
from failcast.models import Alert, AlertEvent
from failcast.models.alert import ACTIVE_STATES, AlertState
from failcast.models.incident import INCIDENT_TYPES, IncidentSource, IncidentType

SYSTEM = "system"


def actor_of(principal: Principal) -> str:
    if principal.user_id is not None:
        return f"user:{principal.user_id}"
    return f"api_key:{principal.api_key_id}"


def record_event(
    session: AsyncSession,
    alert: Alert,
    kind: str,
    at: datetime,
    *,
    actor: str | None = SYSTEM,
    message: str = "",
    data: dict[str, Any] | None = None,
) -> AlertEvent:
    event = AlertEvent(
        org_id=alert.org_id,
        alert_id=alert.id,
        at=at,
        kind=kind,
        actor=actor,
        message=message,
        data=data or {},
    )
    session.add(event)
    return event


def acknowledge(session: AsyncSession, alert: Alert, actor: str, now: datetime) -> None:
    if alert.state == "acknowledged":
        return
    if alert.state != AlertState.firing:
        raise Conflict(f"a {alert.state} alert cannot be acknowledged")
    alert.state = AlertState.acknowledged
    alert.acknowledged_at = now
    record_event(session, alert, "acknowledged", now, actor=actor)


def assign(
    session: AsyncSession, alert: Alert, assignee: str | None, actor: str, now: datetime
) -> None:
    previous = alert.assignee
    alert.assignee = assignee
    message = f"assigned to {assignee}" if assignee else "unassigned"
    record_event(
        session,
        alert,
        "assigned",
        now,
        actor=actor,
        message=message,
        data={"from": previous, "to": assignee},
    )


def comment(session: AsyncSession, alert: Alert, text: str, actor: str, now: datetime) -> None:
    record_event(session, alert, "comment", now, actor=actor, message=text)


def resolve(
    session: AsyncSession, alert: Alert, actor: str, now: datetime, message: str = ""
) -> None:
    """Close an alert. A condition that still holds opens a new alert at the next evaluation."""
    if alert.state == "resolved":
        return
    if alert.state not in ACTIVE_STATES:
        raise Conflict(f"a {alert.state} alert cannot be resolved")
    alert.state = AlertState.resolved
    alert.resolved_at = now
    alert.flapping = False
    record_event(session, alert, "resolved", now, actor=actor, message=message or "resolved")


async def mark_incident(
    session: AsyncSession,
    alert: Alert,
    actor: str,
    now: datetime,
    *,
    incident_type: IncidentType | None,
    root_cause_service: str | None,
    title: str | None,
) -> int:
    """Record a resolved alert as an incident (source `alert`), so it trains and informs MTTR."""
    if alert.state != "resolved" or alert.resolved_at is None:
        raise Conflict("only a resolved alert can be recorded as an incident")
    if alert.incident_id is not None:
        raise Conflict(f"this alert is already incident {alert.incident_id}")
    if alert.service is None:
        raise Conflict("this alert names no service")
    label = alert.labels.get("incident_type", IncidentType.resource_exhaustion.value)
    if incident_type is None and label not in INCIDENT_TYPES:
        raise Conflict(
            f"this alert's incident_type label ({label!r}) is not a type of incident:"
            " name one with `type`"
        )
    kind = incident_type or IncidentType(label)
    # An alert from another Alertmanager client may have ended (its endsAt) before Failcast
    # saw it fire: the incident then runs from the start the sender gave.
    start = alert.fired_at or alert.started_at
    if start > alert.resolved_at:
        start = min(alert.started_at, alert.resolved_at)
    incident = await incidents.upsert(
        session,
        alert.org_id,
        incidents.IncidentIn(
            service=alert.service,
            type=kind,
            start=start,
            end=alert.resolved_at,
            root_cause_service=root_cause_service or alert.service,
            source=IncidentSource.alert,
            title=title or alert.title,
        ),
        details={"alert_id": alert.id, "fingerprint": alert.fingerprint, "labels": alert.labels},
    )
    alert.incident_id = incident.id
    record_event(
        session,
        alert,
        "incident",
        now,
        actor=actor,
        message=f"recorded as incident {incident.id} ({kind.value})",
        data={"incident_id": incident.id},
    )
    return incident.id
