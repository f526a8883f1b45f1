"""Incidents (batch, CSV, webhooks) and the org's dependency topology."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, status
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting import incidents
from failcast.alerting.schemas import IncidentBatchResult, IncidentOut, IncidentPage
from failcast.auth.principal import CanIngest, CanRead, CanWrite
from failcast.deps import SessionDep, SettingsDep
from failcast.errors import ValidationFailed, problems_from_pydantic
from failcast.kit.bodies import parse_body, read_text
from failcast.kit.params import decode_cursor, encode_cursor, parse_time_param
from failcast.models import Incident
from failcast.models.incident import IncidentSource, IncidentType
from failcast.ops.body_limit import bulk_body
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime
from failcast.topology import TopologySpec, load_topology_yaml
from failcast.topology import store as topology_store

router = APIRouter()
_incidents = APIRouter(prefix="/incidents", tags=["incidents"])
_webhooks = APIRouter(prefix="/webhooks", tags=["incidents"])
_topology = APIRouter(prefix="/topology", tags=["topology"])

Endpoint = TypeVar("Endpoint", bound=Callable[..., Any])


def _out(incident: Incident, service: str) -> IncidentOut:
    end = incident.ended_at
    minutes = None if end is None else round((end - incident.started_at).total_seconds() / 60, 3)
    return IncidentOut(
        id=incident.id,
        service=service,
        type=IncidentType(incident.type),
        start=incident.started_at,
        end=end,
        duration_minutes=minutes,
        root_cause_service=incident.root_cause_service,
        source=incident.source,
        title=incident.title,
        details=incident.details,
    )


def _batch_post(
    on: APIRouter,
    path: str,
    operation_id: str,
    body: Any,
    content_type: str = "application/json",
) -> Callable[[Endpoint], Endpoint]:
    """Register on `on` a bulk-body endpoint that stores incidents; `body` documents the request."""
    schema = body if isinstance(body, dict) else body.model_json_schema()
    extra = {"requestBody": {"required": True, "content": {content_type: {"schema": schema}}}}
    route = on.post(
        path, response_model=IncidentBatchResult, operation_id=operation_id, openapi_extra=extra
    )

    def register(endpoint: Endpoint) -> Endpoint:
        return route(bulk_body(endpoint))

    return register


async def _store(
    session: AsyncSession,
    org_id: int,
    items: Sequence[incidents.IncidentIn],
    details: Sequence[dict[str, Any]] | None = None,
) -> IncidentBatchResult:
    """Store the batch, all or nothing, and say which incidents it became."""
    stored = await incidents.store_batch(session, org_id, items, details)
    return IncidentBatchResult(accepted=len(stored), ids=[i.id for i in stored])


@_batch_post(_incidents, "", "create_incidents", incidents.IncidentBatch)
async def create_incidents(
    request: Request, principal: CanIngest, session: SessionDep, settings: SettingsDep
) -> IncidentBatchResult:
    """Store a batch `{"incidents": [...]}`, all or nothing; a 422 names each bad field by
    index. An incident with the same service, type and start is updated, not duplicated."""
    data = await parse_body(request, settings, "incidents")
    items = incidents.validate_batch(data)
    return await _store(session, principal.org_id, items)


@_batch_post(_incidents, "/import", "import_incidents_csv", {"type": "string"}, "text/csv")
async def import_incidents(
    request: Request, principal: CanIngest, session: SessionDep, settings: SettingsDep
) -> IncidentBatchResult:
    """CSV with a header: service,type,start,end,root_cause_service,source,title (the first
    three required). All rows or none; a 422 gives each bad row's index."""
    text = await read_text(request, settings.max_body_bytes, "utf-8-sig")
    items = incidents.parse_csv(text)
    return await _store(session, principal.org_id, items)


@_incidents.get("", response_model=IncidentPage, operation_id="list_incidents")
async def list_incidents(
    principal: CanRead,
    session: SessionDep,
    service: str | None = None,
    type: IncidentType | None = None,
    start: str | None = None,
    end: str | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> IncidentPage:
    """Incidents newest first, filtered by service, type and start time."""
    before = None
    if cursor:
        ts, id_ = decode_cursor(cursor)
        before = (ms_to_datetime(ts), id_)
    rows = await incidents.list_incidents(
        session,
        principal.org_id,
        service=service,
        incident_type=type,
        start=ms_to_datetime(parse_time_param("start", start, 0)) if start else None,
        end=ms_to_datetime(parse_time_param("end", end, 0)) if end else None,
        before=before,
        limit=limit,
        seen=await teams.visibility(session, principal),
    )
    next_cursor = None
    if len(rows) == limit:
        last = rows[-1][0]
        next_cursor = encode_cursor(int(last.started_at.timestamp() * 1000), last.id)
    return IncidentPage(items=[_out(i, name) for i, name in rows], next_cursor=next_cursor)


@_batch_post(_webhooks, "/alertmanager", "alertmanager_webhook", incidents.AlertmanagerPayload)
async def alertmanager_webhook(
    request: Request, principal: CanIngest, session: SessionDep, settings: SettingsDep
) -> IncidentBatchResult:
    """Receive Alertmanager's webhook (version 4): each alert becomes an incident (source
    `webhook`) of the service in its `service`, `job` or `app` label; a resolved alert sets
    the incident's end. Authenticate with an API key that has the ingest scope."""
    data = await parse_body(request, settings, "alerts")
    try:
        payload = incidents.AlertmanagerPayload.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(problems_from_pydantic(list(exc.errors()))) from None
    items, details = incidents.from_alertmanager(payload)
    return await _store(session, principal.org_id, items, details)


@_batch_post(_webhooks, "/incidents", "incident_webhook", incidents.IncidentIn)
async def incident_webhook(
    request: Request, principal: CanIngest, session: SessionDep, settings: SettingsDep
) -> IncidentBatchResult:
    """A generic incident webhook: one incident object, or `{"incidents": [...]}`; the
    source defaults to `webhook`."""
    data = await parse_body(request, settings, "incidents")
    if isinstance(data, dict) and "incidents" not in data:
        data = {"incidents": [data]}
    items = incidents.validate_batch(data, default_source=IncidentSource.webhook)
    return await _store(session, principal.org_id, items)


@_topology.get("", response_model=TopologySpec, operation_id="get_topology")
async def get_topology(principal: CanRead, session: SessionDep) -> TopologySpec:
    """The org's declared dependency topology (empty until one is stored); the graph merged
    with the simulated and discovered edges is at /api/v1/topology/graph."""
    return await topology_store.load(session, principal.org_id)


@_topology.put(
    "",
    response_model=TopologySpec,
    status_code=status.HTTP_200_OK,
    operation_id="put_topology",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": TopologySpec.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
@bulk_body
async def put_topology(
    request: Request, principal: CanWrite, session: SessionDep, settings: SettingsDep
) -> TopologySpec:
    """Replace the org's declared topology with a TopologySpec, as JSON or as YAML (errors then
    give the line and the key). Inhibition, cascade risk and root-cause analysis read it merged
    with the simulated and discovered edges, the declared ones first."""
    content_type = request.headers.get("content-type", "")
    if "json" in content_type:
        data = await parse_body(request, settings, "services")
        try:
            spec = TopologySpec.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed(problems_from_pydantic(list(exc.errors()))) from None
    else:
        spec = load_topology_yaml(await read_text(request, settings.max_body_bytes))
    await topology_store.save(session, principal.org_id, spec)
    await session.flush()
    return await topology_store.load(session, principal.org_id)


for _sub in (_incidents, _webhooks, _topology):
    router.include_router(_sub)
