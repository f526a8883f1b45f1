"""Alert rules, alerts and their lifecycle, silences, maintenance windows and playbooks.

`router` also carries the incident, topology, webhook and notification routes, so the app
adds all of alerting with one line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy import delete, select

from failcast.alerting import context as alert_context
from failcast.alerting import lifecycle, repository
from failcast.alerting.bodies import read_text
from failcast.alerting.incident_endpoints import router as incidents_router
from failcast.alerting.matchers import parse_matcher
from failcast.alerting.rules import RuleSpec, dump_rule, duration_ms, load_rules_yaml
from failcast.alerting.schemas import (
    AlertDetail,
    AlertIncidentIn,
    AlertOut,
    AlertPage,
    AlertState,
    AssignIn,
    CommentIn,
    EventOut,
    MaintenanceIn,
    MaintenanceOut,
    PlaybookIn,
    PlaybookOut,
    ResolveIn,
    RuleImportResult,
    RuleOut,
    SilenceIn,
    SilenceOut,
)
from failcast.auth.principal import CanRead, CanWrite, Principal
from failcast.deps import PathId, SessionDep, SettingsDep
from failcast.errors import Conflict
from failcast.models import Alert, AlertRule, MaintenanceWindow, MitigationPlaybook, Silence
from failcast.models.incident import IncidentType
from failcast.notify.endpoints import router as notify_router
from failcast.openapi import errors
from failcast.ops.body_limit import bulk_body
from failcast.query.service import decode_cursor, encode_cursor, parse_time_param
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime

router = APIRouter(prefix="/api/v1")
rules = APIRouter(prefix="/alert-rules", tags=["alerting"])
alerts = APIRouter(prefix="/alerts", tags=["alerting"])
silences = APIRouter(prefix="/silences", tags=["alerting"])
maintenance = APIRouter(prefix="/maintenance-windows", tags=["alerting"])
playbooks = APIRouter(prefix="/playbooks", tags=["alerting"])


def _now() -> datetime:
    return datetime.now(UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


_YAML_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}


# ---------------------------------------------------------------- rules


async def _resolve_open_alerts(session: SessionDep, rule: AlertRule, why: str) -> None:
    now = _now()
    for alert in await session.scalars(
        select(Alert).where(
            Alert.rule_id == rule.id, Alert.state.in_(("pending", *lifecycle.ACTIVE_STATES))
        )
    ):
        if alert.state == "pending":
            await session.delete(alert)
        else:
            lifecycle.resolve(session, alert, lifecycle.SYSTEM, now, why)


def _apply(rule: AlertRule, spec: RuleSpec) -> None:
    rule.name = spec.name
    rule.kind = spec.kind
    rule.severity = spec.severity
    rule.enabled = spec.enabled
    rule.spec = dump_rule(spec)
    rule.updated_at = _now()


@rules.get("", response_model=list[RuleOut], operation_id="list_alert_rules")
async def list_rules(principal: CanRead, session: SessionDep) -> list[RuleOut]:
    """Every alert rule of the org, by name."""
    return [
        RuleOut.model_validate(r) for r in await repository.list_rules(session, principal.org_id)
    ]


@rules.post(
    "",
    response_model=RuleOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_alert_rule",
    responses=errors(409),
)
async def create_rule(body: RuleSpec, principal: CanWrite, session: SessionDep) -> RuleOut:
    """Add a rule; its `kind` picks the schema (threshold, anomaly_score, forecast_breach,
    failure_probability, slo_burn, drift)."""
    if await repository.find_rule(session, principal.org_id, body.name):
        raise Conflict(f"a rule named {body.name!r} already exists")
    rule = AlertRule(org_id=principal.org_id, created_at=_now())
    _apply(rule, body)
    session.add(rule)
    await session.commit()
    return RuleOut.model_validate(rule)


@rules.post(
    "/import",
    response_model=RuleImportResult,
    operation_id="import_alert_rules",
    openapi_extra=_YAML_BODY,
    responses=errors(409),
)
@bulk_body
async def import_rules(
    request: Request, principal: CanWrite, session: SessionDep, settings: SettingsDep
) -> RuleImportResult:
    """Create or replace (by name) every rule of a YAML file `rules: [...]`, all or none.
    Errors give the line and the key."""
    specs = load_rules_yaml(await read_text(request, settings.max_body_bytes))
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise Conflict(f"the file defines {', '.join(duplicates)} more than once")
    created, updated = [], []
    for spec in specs:
        rule = await repository.find_rule(session, principal.org_id, spec.name)
        if rule is None:
            rule = AlertRule(org_id=principal.org_id, created_at=_now())
            session.add(rule)
            created.append(spec.name)
        else:
            updated.append(spec.name)
        _apply(rule, spec)
        await session.flush()
        if not spec.enabled:
            await _resolve_open_alerts(session, rule, "rule disabled")
    await session.commit()
    return RuleImportResult(created=created, updated=updated)


@rules.get("/{rule_id}", response_model=RuleOut, operation_id="get_alert_rule")
async def get_rule(rule_id: PathId, principal: CanRead, session: SessionDep) -> RuleOut:
    rule = await repository.get_owned(session, AlertRule, principal.org_id, rule_id, "rule")
    return RuleOut.model_validate(rule)


@rules.put(
    "/{rule_id}", response_model=RuleOut, operation_id="replace_alert_rule", responses=errors(409)
)
async def replace_rule(
    rule_id: PathId, body: RuleSpec, principal: CanWrite, session: SessionDep
) -> RuleOut:
    """Replace a rule's definition. Disabling it resolves its open alerts."""
    rule = await repository.get_owned(session, AlertRule, principal.org_id, rule_id, "rule")
    other = await repository.find_rule(session, principal.org_id, body.name)
    if other is not None and other.id != rule.id:
        raise Conflict(f"a rule named {body.name!r} already exists")
    _apply(rule, body)
    if not body.enabled:
        await _resolve_open_alerts(session, rule, "rule disabled")
    await session.commit()
    return RuleOut.model_validate(rule)


@rules.delete(
    "/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_alert_rule"
)
async def delete_rule(rule_id: PathId, principal: CanWrite, session: SessionDep) -> Response:
    """Delete a rule; its open alerts are resolved and its history is kept."""
    rule = await repository.get_owned(session, AlertRule, principal.org_id, rule_id, "rule")
    await _resolve_open_alerts(session, rule, "rule deleted")
    await session.delete(rule)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- alerts


@alerts.get("", response_model=AlertPage, operation_id="list_alerts")
async def list_alerts(
    principal: CanRead,
    session: SessionDep,
    state: Annotated[list[AlertState] | None, Query()] = None,
    severity: Annotated[list[str] | None, Query()] = None,
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
        next_cursor = encode_cursor(_ms(last.started_at), last.id)
    return AlertPage(items=[AlertOut.model_validate(a) for a in items], next_cursor=next_cursor)


async def _alert(session: SessionDep, principal: Principal, alert_id: int) -> Alert:
    """The org's alert, unless it is about a service the caller's teams do not own in an org
    that restricts members to their teams."""
    alert = await repository.get_owned(session, Alert, principal.org_id, alert_id, "alert")
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
    lifecycle.acknowledge(session, alert, lifecycle.actor_of(principal), _now())
    await session.commit()
    return await _detail(session, alert)


@alerts.post("/{alert_id}/assign", response_model=AlertDetail, operation_id="assign_alert")
async def assign_alert(
    alert_id: PathId, body: AssignIn, principal: CanWrite, session: SessionDep
) -> AlertDetail:
    alert = await _alert(session, principal, alert_id)
    lifecycle.assign(session, alert, body.assignee, lifecycle.actor_of(principal), _now())
    await session.commit()
    return await _detail(session, alert)


@alerts.post("/{alert_id}/comment", response_model=AlertDetail, operation_id="comment_alert")
async def comment_alert(
    alert_id: PathId, body: CommentIn, principal: CanWrite, session: SessionDep
) -> AlertDetail:
    alert = await _alert(session, principal, alert_id)
    lifecycle.comment(session, alert, body.text, lifecycle.actor_of(principal), _now())
    await session.commit()
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
    lifecycle.resolve(session, alert, lifecycle.actor_of(principal), _now(), message)
    await session.commit()
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
        _now(),
        incident_type=body.type,
        root_cause_service=body.root_cause_service,
        title=body.title,
    )
    await session.commit()
    return await _detail(session, alert)


# ---------------------------------------------------------------- silences


def _silence_out(silence: Silence, now: datetime) -> SilenceOut:
    state = (
        "pending" if silence.starts_at > now else ("active" if silence.ends_at > now else "expired")
    )
    return SilenceOut(
        id=silence.id,
        matchers=[str(parse_matcher(m)) for m in silence.matchers],
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        comment=silence.comment,
        created_by=silence.created_by,
        status=state,
    )


@silences.get("", response_model=list[SilenceOut], operation_id="list_silences")
async def list_silences(
    principal: CanRead, session: SessionDep, include_expired: bool = False
) -> list[SilenceOut]:
    now = _now()
    statement = select(Silence).where(Silence.org_id == principal.org_id)
    if not include_expired:
        statement = statement.where(Silence.ends_at > now)
    rows = await session.scalars(statement.order_by(Silence.ends_at.desc(), Silence.id.desc()))
    return [_silence_out(s, now) for s in rows]


@silences.post(
    "",
    response_model=SilenceOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_silence",
    responses=errors(409),
)
async def create_silence(body: SilenceIn, principal: CanWrite, session: SessionDep) -> SilenceOut:
    """Mute notifications of alerts whose labels match every matcher (=, !=, =~, !~)."""
    now = _now()
    starts = body.starts_at or now
    ends = body.ends_at or starts + timedelta(milliseconds=duration_ms(body.duration or "0s"))
    if ends <= starts:
        raise Conflict("the silence would end before it starts")
    silence = Silence(
        org_id=principal.org_id,
        matchers=[parse_matcher(m).as_dict() for m in body.matchers],
        starts_at=starts,
        ends_at=ends,
        comment=body.comment,
        created_by=lifecycle.actor_of(principal),
        created_at=now,
    )
    session.add(silence)
    await session.commit()
    return _silence_out(silence, now)


@silences.get("/{silence_id}", response_model=SilenceOut, operation_id="get_silence")
async def get_silence(silence_id: PathId, principal: CanRead, session: SessionDep) -> SilenceOut:
    silence = await repository.get_owned(session, Silence, principal.org_id, silence_id, "silence")
    return _silence_out(silence, _now())


@silences.put(
    "/{silence_id}", response_model=SilenceOut, operation_id="update_silence", responses=errors(409)
)
async def update_silence(
    silence_id: PathId, body: SilenceIn, principal: CanWrite, session: SessionDep
) -> SilenceOut:
    silence = await repository.get_owned(session, Silence, principal.org_id, silence_id, "silence")
    starts = body.starts_at or silence.starts_at
    silence.matchers = [parse_matcher(m).as_dict() for m in body.matchers]
    silence.starts_at = starts
    silence.ends_at = body.ends_at or starts + timedelta(
        milliseconds=duration_ms(body.duration or "0s")
    )
    silence.comment = body.comment
    await session.commit()
    return _silence_out(silence, _now())


@silences.delete("/{silence_id}", response_model=SilenceOut, operation_id="expire_silence")
async def expire_silence(
    silence_id: PathId, principal: CanWrite, session: SessionDep
) -> SilenceOut:
    """Expire a silence now; it stays in the list of expired silences."""
    silence = await repository.get_owned(session, Silence, principal.org_id, silence_id, "silence")
    now = _now()
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at)
    await session.commit()
    return _silence_out(silence, now)


# ---------------------------------------------------------------- maintenance windows


@maintenance.get("", response_model=list[MaintenanceOut], operation_id="list_maintenance_windows")
async def list_windows(principal: CanRead, session: SessionDep) -> list[MaintenanceOut]:
    rows = await session.scalars(
        select(MaintenanceWindow)
        .where(MaintenanceWindow.org_id == principal.org_id)
        .order_by(MaintenanceWindow.starts_at.desc())
    )
    return [MaintenanceOut.model_validate(w) for w in rows]


@maintenance.post(
    "",
    response_model=MaintenanceOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_maintenance_window",
)
async def create_window(
    body: MaintenanceIn, principal: CanWrite, session: SessionDep
) -> MaintenanceOut:
    """Planned work: the service's alerts are suppressed between the two times."""
    window = MaintenanceWindow(org_id=principal.org_id, created_at=_now(), **body.model_dump())
    session.add(window)
    await session.commit()
    return MaintenanceOut.model_validate(window)


@maintenance.delete(
    "/{window_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_maintenance_window",
)
async def delete_window(window_id: PathId, principal: CanWrite, session: SessionDep) -> Response:
    window = await repository.get_owned(
        session, MaintenanceWindow, principal.org_id, window_id, "maintenance window"
    )
    await session.delete(window)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# ---------------------------------------------------------------- playbooks


@playbooks.get("", response_model=list[PlaybookOut], operation_id="list_playbooks")
async def list_playbooks(principal: CanRead, session: SessionDep) -> list[PlaybookOut]:
    """Mitigation steps per incident type: the org's own, or the shipped defaults."""
    books = await alert_context.playbooks(session, principal.org_id)
    return [
        PlaybookOut(incident_type=IncidentType(kind), steps=steps, customised=custom)
        for kind, (steps, custom) in books.items()
    ]


@playbooks.put("/{incident_type}", response_model=PlaybookOut, operation_id="set_playbook")
async def set_playbook(
    incident_type: IncidentType, body: PlaybookIn, principal: CanWrite, session: SessionDep
) -> PlaybookOut:
    """Replace the org's steps for one incident type; new alerts recommend them."""
    row = await session.scalar(
        select(MitigationPlaybook).where(
            MitigationPlaybook.org_id == principal.org_id,
            MitigationPlaybook.incident_type == incident_type.value,
        )
    )
    if row is None:
        row = MitigationPlaybook(org_id=principal.org_id, incident_type=incident_type.value)
        session.add(row)
    row.steps = body.steps
    row.updated_at = _now()
    await session.commit()
    return PlaybookOut(incident_type=incident_type, steps=body.steps, customised=True)


@playbooks.delete("/{incident_type}", response_model=PlaybookOut, operation_id="reset_playbook")
async def reset_playbook(
    incident_type: IncidentType, principal: CanWrite, session: SessionDep
) -> PlaybookOut:
    """Go back to the shipped steps for one incident type."""
    await session.execute(
        delete(MitigationPlaybook).where(
            MitigationPlaybook.org_id == principal.org_id,
            MitigationPlaybook.incident_type == incident_type.value,
        )
    )
    await session.commit()
    steps = alert_context.default_playbooks()[incident_type.value]
    return PlaybookOut(incident_type=incident_type, steps=steps, customised=False)


for _sub in (rules, alerts, silences, maintenance, playbooks, incidents_router, notify_router):
    router.include_router(_sub)
