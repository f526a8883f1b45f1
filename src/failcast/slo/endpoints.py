"""SLO definitions per org and service, their import from Sloth and OpenSLO files, and their
status (budget, burn rates, alert tiers) computed from stored samples."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import yaml
from fastapi import APIRouter, Query, Request, Response, status

from failcast.auth.principal import CanRead, CanWrite
from failcast.deps import PathId, SessionDep, SettingsDep
from failcast.kit.bodies import read_text
from failcast.kit.params import parse_time_param
from failcast.kit.responses import errors
from failcast.kit.yamlsource import YamlConfigError, YamlProblem
from failcast.models import Slo
from failcast.ops.body_limit import bulk_body
from failcast.slo import repository, service
from failcast.slo.importers import load_slo_yaml
from failcast.slo.openslo import import_openslo
from failcast.slo.responses import SloImportResult, SloOut, SloStatusOut
from failcast.slo.schemas import SloDefinition
from failcast.slo.sloth import import_sloth
from failcast.teams import service as teams
from failcast.timeutil import now_ms

router = APIRouter(prefix="/api/v1/slos", tags=["slos"])

AT_HELP = "Evaluation time: RFC 3339 with a zone, or Unix seconds. Default: now."
ImportFormat = Literal["sloth", "openslo", "failcast"]


def _out(row: Slo) -> SloOut:
    return SloOut.model_validate(
        {**row.definition, "id": row.id, "created_at": row.created_at, "updated_at": row.updated_at}
    )


def detect_format(text: str, source: str) -> ImportFormat:
    """Which kind of SLO file `text` is, from its first document's top-level keys."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError:
        # Any of the loaders reports the syntax error with its line; Failcast's own is nearest.
        return "failcast"
    first: Any = documents[0] if documents else None
    if isinstance(first, dict):
        if "apiVersion" in first:
            return "openslo"
        if str(first.get("version", "")).startswith("prometheus"):
            return "sloth"
        if "slos" in first:
            return "failcast"
    msg = (
        "not a known SLO file: expected Sloth (version: prometheus/v1), OpenSLO"
        " (apiVersion: openslo/v1) or Failcast's own (slos: [...])"
    )
    raise YamlConfigError(source, [YamlProblem(1, 1, "", msg)])


@router.get("", response_model=list[SloOut], operation_id="list_slos")
async def list_slos(
    principal: CanRead,
    session: SessionDep,
    service_name: Annotated[str | None, Query(alias="service")] = None,
) -> list[SloOut]:
    """Every SLO of the org by service and name, or of one service."""
    seen = await teams.visibility(session, principal)
    rows = await repository.list_slos(session, principal.org_id, service_name, seen)
    return [_out(r) for r in rows]


@router.post(
    "",
    response_model=SloOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_slo",
    responses=errors(404, 409),
)
async def create_slo(body: SloDefinition, principal: CanWrite, session: SessionDep) -> SloOut:
    """Define an SLO: availability (events or an error rate), latency, or ML quality."""
    await teams.require_visible(session, principal, body.service, "service")
    row = await repository.create(session, principal.org_id, body)
    await session.flush()
    return _out(row)


@router.post(
    "/import",
    response_model=SloImportResult,
    operation_id="import_slos",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
    responses=errors(404, 409),
)
@bulk_body
async def import_slos(
    request: Request, principal: CanWrite, session: SessionDep, settings: SettingsDep
) -> SloImportResult:
    """Create or replace (by service and name) every SLO of a Sloth, OpenSLO or Failcast YAML
    file, all or none; the format is detected. Errors give the line and the key."""
    text = await read_text(request, settings.max_body_bytes)
    kind = detect_format(text, "slos.yaml")
    loaders = {"sloth": import_sloth, "openslo": import_openslo, "failcast": load_slo_yaml}
    definitions = loaders[kind](text, f"{kind}.yaml")
    seen = await teams.visibility(session, principal)
    for slo in definitions:
        seen.require(slo.service, "service")
    created: list[int] = []
    updated: list[int] = []
    rows: list[Slo] = []
    for slo in definitions:
        existing = await repository.find_slo(session, principal.org_id, slo.service, slo.name)
        if existing is None:
            row = await repository.create(session, principal.org_id, slo)
            created.append(row.id)
        else:
            row = await repository.update(session, principal.org_id, existing, slo)
            updated.append(row.id)
        rows.append(row)
    await session.flush()
    return SloImportResult(
        format=kind, created=created, updated=updated, slos=[_out(r) for r in rows]
    )


@router.get("/status", response_model=list[SloStatusOut], operation_id="list_slo_status")
async def list_status(
    principal: CanRead,
    session: SessionDep,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    at: Annotated[str | None, Query(description=AT_HELP)] = None,
) -> list[SloStatusOut]:
    """Budget left, burn rates per window, the firing tier and time to exhaustion of every SLO."""
    at_ms = parse_time_param("at", at, now_ms())
    seen = await teams.visibility(session, principal)
    found = await service.evaluate_all(session, principal.org_id, at_ms, service_name, seen)
    return [SloStatusOut.of(e) for e in found]


@router.get("/{slo_id}", response_model=SloOut, operation_id="get_slo")
async def get_slo(slo_id: PathId, principal: CanRead, session: SessionDep) -> SloOut:
    """One SLO's definition."""
    seen = await teams.visibility(session, principal)
    return _out(await repository.get_slo(session, principal.org_id, slo_id, seen))


@router.put("/{slo_id}", response_model=SloOut, operation_id="update_slo", responses=errors(409))
async def update_slo(
    slo_id: PathId, body: SloDefinition, principal: CanWrite, session: SessionDep
) -> SloOut:
    """Replace an SLO's definition."""
    seen = await teams.visibility(session, principal)
    row = await repository.get_slo(session, principal.org_id, slo_id, seen)
    seen.require(body.service, "service")
    await repository.update(session, principal.org_id, row, body)
    await session.flush()
    return _out(row)


@router.delete("/{slo_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_slo")
async def delete_slo(slo_id: PathId, principal: CanWrite, session: SessionDep) -> Response:
    """Remove an SLO; alert rules naming it stop seeing it."""
    seen = await teams.visibility(session, principal)
    row = await repository.get_slo(session, principal.org_id, slo_id, seen)
    await session.delete(row)
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{slo_id}/status", response_model=SloStatusOut, operation_id="get_slo_status")
async def get_status(
    slo_id: PathId,
    principal: CanRead,
    session: SessionDep,
    at: Annotated[str | None, Query(description=AT_HELP)] = None,
) -> SloStatusOut:
    """One SLO's budget, burn rates per window, tiers with the minimum-traffic guard, and the
    loudest firing tier."""
    at_ms = parse_time_param("at", at, now_ms())
    seen = await teams.visibility(session, principal)
    row = await repository.get_slo(session, principal.org_id, slo_id, seen)
    return SloStatusOut.of(await service.evaluate(session, principal.org_id, row, at_ms))
