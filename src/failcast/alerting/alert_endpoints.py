"""Alerts and their lifecycle: list, show, acknowledge, assign, comment, resolve, and record an
incident from one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from failcast.alerting import lifecycle, repository
from failcast.alerting.schemas import (
    AlertDetail,
    AlertIncidentIn,
    AlertOut,
    AlertPage,
    AlertState,
    AssignIn,
    CommentIn,
    EventOut,
    ResolveIn,
)
from failcast.auth.principal import CanRead, CanWrite, Principal
from failcast.db.base import utcnow
from failcast.db.owned import get_owned
from failcast.deps import PathId, SessionDep
from failcast.kit.params import decode_cursor, encode_cursor, parse_time_param
from failcast.kit.responses import errors
from failcast.models import Alert
from failcast.models.alert import Severity
from failcast.teams import service as teams
from failcast.timeutil import datetime_to_ms, ms_to_datetime

alerts = APIRouter(prefix="/alerts", tags=["alerting"])


@alerts.get("", response_model=AlertPage, operation_id="list_alerts")
async def list_alerts(
    principal: CanRead,
    session: SessionDep,
    state: Annotated[list[AlertState] | None, Query()] = None,
    severity: Annotated[list[Severity] | None, Query()] = None,
    service: str | None = None,
    text: Annotated[str | None, Query(max_length=200)] = None,
    start: str | None = None,
    end: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AlertPage:
    """Alert history, newest first: filter by state (pending ones only when asked for),
    severity, service, text in the title, and a time range the alert overlaps."""
    before = None
    if cursor:
        ts, id_ = decode_cursor(cursor)
        before = (ms_to_datetime(ts), id_)
    start_at = ms_to_datetime(parse_time_param("start", start, 0)) if start else None
    end_at = ms_to_datetime(parse_time_param("end", end, 0)) if end else None
    items = await repository.list_alerts(
        session,
        principal.org_id,
        states=list(state or []),
        severities=list(severity or []),
        service=service,
        text=text,
        start=start_at,
        end=end_at,
        before=before,
        limit=limit,
        seen=await teams.visibility(session, principal),
    )
    next_cursor = None
    if len(items) == limit:
        last = items[-1]
        next_cursor = encode_cursor(datetime_to_ms(last.started_at), last.id)
    return AlertPage(items=[AlertOut.model_validate(a) for a in items], next_cursor=next_cursor)


async def _alert(session: SessionDep, principal: Principal, alert_id: int) -> Alert:
    """The org's alert, unless it is about a service the caller's teams do not own in an org
    that restricts members to their teams."""
    alert = await get_owned(session, Alert, principal.org_id, alert_id, "alert")
    await teams.require_visible(session, principal, alert.service, "alert")
    return alert


async def _detail(session: SessionDep, alert: Alert) -> AlertDetail:
    events = await repository.timeline(session, alert.id)
    return AlertDetail(
        **AlertOut.model_validate(alert).model_dump(),
        timeline=[EventOut.model_validate(e) for e in events],
    )


@alerts.get("/{alert_id}", response_model=AlertDetail, operation_id="get_alert")
async def get_alert(alert_id: PathId, principal: CanRead, session: SessionDep) -> AlertDetail:
    """One alert with its context and timeline."""
    alert = await _alert(session, principal, alert_id)
    return await _detail(session, alert)


@alerts.post(
    "/{alert_id}/ack",
    response_model=AlertDetail,
    operation_id="acknowledge_alert",
    responses=errors(409),
)
async def acknowledge_alert(
    alert_id: PathId, principal: CanWrite, session: SessionDep
) -> AlertDetail:
    """Acknowledge a firing alert: its repeats stop; it still resolves on its own."""
    alert = await _alert(session, principal, alert_id)
    lifecycle.acknowledge(session, alert, lifecycle.actor_of(principal), utcnow())
    await session.flush()
    return await _detail(session, alert)


@alerts.post("/{alert_id}/assign", response_model=AlertDetail, operation_id="assign_alert")
async def assign_alert(
    alert_id: PathId, body: AssignIn, principal: CanWrite, session: SessionDep
) -> AlertDetail:
    alert = await _alert(session, principal, alert_id)
    lifecycle.assign(session, alert, body.assignee, lifecycle.actor_of(principal), utcnow())
    await session.flush()
    return await _detail(session, alert)


@alerts.post("/{alert_id}/comment", response_model=AlertDetail, operation_id="comment_alert")
async def comment_alert(
    alert_id: PathId, body: CommentIn, principal: CanWrite, session: SessionDep
) -> AlertDetail:
    alert = await _alert(session, principal, alert_id)
    lifecycle.comment(session, alert, body.text, lifecycle.actor_of(principal), utcnow())
    await session.flush()
    return await _detail(session, alert)


@alerts.post(
    "/{alert_id}/resolve",
    response_model=AlertDetail,
    operation_id="resolve_alert",
    responses=errors(409),
)
async def resolve_alert(
    alert_id: PathId, principal: CanWrite, session: SessionDep, body: ResolveIn | None = None
) -> AlertDetail:
    """Resolve by hand. If the condition still holds, the next evaluation opens a new alert."""
    alert = await _alert(session, principal, alert_id)
    message = body.message if body else ""
    lifecycle.resolve(session, alert, lifecycle.actor_of(principal), utcnow(), message)
    await session.flush()
    return await _detail(session, alert)


@alerts.post(
    "/{alert_id}/incident",
    response_model=AlertDetail,
    operation_id="record_alert_incident",
    responses=errors(409),
)
async def record_incident(
    alert_id: PathId, principal: CanWrite, session: SessionDep, body: AlertIncidentIn | None = None
) -> AlertDetail:
    """Record a resolved alert as an incident, which trains predictors and informs MTTR."""
    alert = await _alert(session, principal, alert_id)
    body = body or AlertIncidentIn()
    await lifecycle.mark_incident(
        session,
        alert,
        lifecycle.actor_of(principal),
        utcnow(),
        incident_type=body.type,
        root_cause_service=body.root_cause_service,
        title=body.title,
    )
    await session.flush()
    return await _detail(session, alert)
