"""Health scores of services and of the org, the health config (JSON or YAML), and the risk
engine's answer per service."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ValidationError

from failcast.auth.principal import CanRead, CanWrite
from failcast.catalog.repository import get_service
from failcast.config import Settings
from failcast.deps import PathId, SessionDep, SettingsDep
from failcast.errors import ValidationFailed
from failcast.health import repository, service
from failcast.health.config import HealthConfig, HealthOverride
from failcast.health.responses import (
    HealthList,
    OrgHealthOut,
    RiskOut,
    ServiceHealthDetail,
    ServiceHealthOut,
    ServiceRiskLevel,
    ServiceRiskOut,
    SloBurnOut,
)
from failcast.kit.bodies import parse_body, read_text
from failcast.kit.params import parse_time_param
from failcast.kit.yamlsource import Loc, validate_yaml
from failcast.ops.body_limit import bulk_body
from failcast.predict.risk import LEVELS
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime, now_ms, parse_duration_ms

router = APIRouter(prefix="/api/v1", tags=["health"])

M = TypeVar("M", bound=BaseModel)

AT_HELP = "Evaluation time: RFC 3339 with a zone, or Unix seconds. Default: now."
WINDOW_HELP = "Lookback over which each metric is averaged: 60s, 5m, 1h. Default 5m."
MAX_WINDOW_MS = 24 * 3_600_000
AtParam = Annotated[str | None, Query(description=AT_HELP)]
WindowParam = Annotated[str, Query(description=WINDOW_HELP)]
_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
    }
}


def instant(at: str | None, window: str) -> tuple[int, int]:
    at_ms = parse_time_param("at", at, now_ms())
    try:
        window_ms = parse_duration_ms(window)
    except ValueError as exc:
        raise ValidationFailed([{"field": "window", "msg": str(exc)}]) from None
    if window_ms > MAX_WINDOW_MS:
        raise ValidationFailed([{"field": "window", "msg": "at most 24h"}])
    return at_ms, window_ms


def problems(exc: ValidationError, prefix: Loc = ()) -> list[dict[str, Any]]:
    """`{"field", "msg"}` items, with the field a model validator pointed at (`field_loc`)."""
    found = []
    for error in exc.errors(include_url=False):
        loc: Loc = (*prefix, *(part for part in error["loc"] if part != "[key]"))
        field_loc = (error.get("ctx") or {}).get("field_loc")
        if isinstance(field_loc, tuple):
            loc = (*loc, *field_loc)
        msg = str(error["msg"]).removeprefix("Value error, ")
        found.append({"field": ".".join(str(p) for p in loc) or None, "msg": msg})
    return found


async def _body(request: Request, settings: Settings, model: type[M], source: str) -> M:
    """The body as `model`, from YAML (errors name the line and key) or JSON."""
    if "yaml" in request.headers.get("content-type", ""):
        return validate_yaml(model, await read_text(request, settings.max_body_bytes), source)
    return _validated(model, await parse_body(request, settings, "services"))


def _validated(model: type[M], data: Any) -> M:
    """`data` as `model`, or a 422 naming each problem."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(problems(exc)) from None


def _shown(config: HealthConfig, seen: teams.Visibility) -> HealthConfig:
    """The config with the org's thresholds spelled out in full (same meaning, easier to
    read and to edit), and the overrides of the services `seen` admits."""
    resolved = config.resolve()
    body = config.model_dump(exclude_none=True)
    body["thresholds"] = {m: resolved.thresholds[m].model_dump() for m in config.thresholds}
    body["services"] = {k: v for k, v in body["services"].items() if seen.admits(k)}
    return HealthConfig.model_validate(body)


# ---------------------------------------------------------------- scores


@router.get("/health/services", response_model=HealthList, operation_id="list_service_health")
async def list_service_health(
    principal: CanRead, session: SessionDep, at: AtParam = None, window: WindowParam = "5m"
) -> HealthList:
    """Every service's 0-100 health score with components, status and explanation, from the
    mean of each metric over the lookback window."""
    at_ms, window_ms = instant(at, window)
    seen = await teams.visibility(session, principal)
    fleet = await service.fleet_health(session, principal.org_id, at_ms, window_ms, seen=seen)
    return HealthList(
        at=ms_to_datetime(at_ms),
        window_seconds=window_ms / 1000,
        services=[ServiceHealthOut.of(s) for s in fleet.services],
    )


@router.get(
    "/health/services/{service_id}",
    response_model=ServiceHealthDetail,
    operation_id="get_service_health",
)
async def get_service_health(
    service_id: PathId,
    principal: CanRead,
    session: SessionDep,
    at: AtParam = None,
    window: WindowParam = "5m",
) -> ServiceHealthDetail:
    """One service's health with the calculation laid out: inputs and where they came from,
    resolved weights and thresholds, metric and component scores, and the weighted mean."""
    at_ms, window_ms = instant(at, window)
    found = await get_service(session, principal.org_id, service_id)
    await teams.require_visible(session, principal, found.name, "service")
    fleet = await service.fleet_health(session, principal.org_id, at_ms, window_ms)
    snapshot = fleet.by_name()[found.name]
    resolved = fleet.config.resolve(found.name)
    return ServiceHealthDetail.detail(
        snapshot, ms_to_datetime(at_ms), window_ms / 1000, resolved.weights, resolved.thresholds
    )


@router.get("/health", response_model=OrgHealthOut, operation_id="get_org_health")
async def get_org_health(
    principal: CanRead, session: SessionDep, at: AtParam = None, window: WindowParam = "5m"
) -> OrgHealthOut:
    """The org's score (tier-weighted mean less a penalty), the executive summary and the risk
    level of every service (of the caller's teams' services, in an org that restricts
    members to them)."""
    at_ms, window_ms = instant(at, window)
    seen = await teams.visibility(session, principal)
    risk = await service.org_risk(session, principal.org_id, at_ms, window_ms, seen)
    org = risk.org
    return OrgHealthOut(
        at=ms_to_datetime(at_ms),
        window_seconds=window_ms / 1000,
        score=org.score,
        status=org.status,
        mean=org.mean,
        penalty=org.penalty,
        counts=org.counts,
        explanation=org.explain(),
        summary=risk.summary,
        risks=[ServiceRiskLevel(service=r.service, level=r.level) for r in risk.risks],
        services=[ServiceHealthOut.of(s) for s in risk.fleet.services],
    )


@router.get("/risk", response_model=RiskOut, operation_id="get_risk")
async def get_risk(
    principal: CanRead, session: SessionDep, at: AtParam = None, window: WindowParam = "5m"
) -> RiskOut:
    """Risk level per service from health, predicted failure probabilities (24/48/72 h) and
    SLO burn, worst first, with the org's executive summary."""
    at_ms, window_ms = instant(at, window)
    seen = await teams.visibility(session, principal)
    risk = await service.org_risk(session, principal.org_id, at_ms, window_ms, seen)
    snapshots = risk.fleet.by_name()
    items = []
    for assessment in risk.risks:
        snapshot = snapshots[assessment.service]
        predicted = risk.predictions.probabilities.get(assessment.service)
        slos = [
            SloBurnOut(
                id=e.row.id,
                name=e.slo.name,
                severity=e.status.severity or "none",
                budget_remaining=e.status.budget.remaining,
                burn_rate_1h=e.status.burn_rate_1h,
            )
            for e in risk.slos
            if e.status is not None and e.data == "ok" and e.slo.service == assessment.service
        ]
        items.append(
            ServiceRiskOut(
                id=snapshot.id,
                service=assessment.service,
                level=assessment.level,
                corroborated=assessment.corroborated,
                signals=assessment.signals,
                health_score=snapshot.health.score,
                health_status=snapshot.health.status,
                failure_probability=(
                    {h: predicted[h] for h in service.HORIZONS if h in predicted}
                    if predicted
                    else None
                ),
                predicted_at=risk.predictions.at.get(assessment.service),
                slos=slos,
            )
        )
    items.sort(key=lambda r: (-LEVELS.index(r.level), r.service))
    return RiskOut(
        at=ms_to_datetime(at_ms),
        summary=risk.summary,
        predictions=risk.predictions.note or "available",
        services=items,
    )


# ---------------------------------------------------------------- config


@router.get("/health/config", response_model=HealthConfig, operation_id="get_health_config")
async def get_health_config(principal: CanRead, session: SessionDep) -> HealthConfig:
    """The org's weights, thresholds, org aggregation and per-service overrides (the built-in
    defaults until set)."""
    seen = await teams.visibility(session, principal)
    return _shown(await repository.load_config(session, principal.org_id), seen)


@router.put(
    "/health/config",
    response_model=HealthConfig,
    operation_id="put_health_config",
    openapi_extra=_BODY,
)
@bulk_body
async def put_health_config(
    request: Request, principal: CanWrite, session: SessionDep, settings: SettingsDep
) -> HealthConfig:
    """Replace the org's health config, as JSON or as a YAML file (Content-Type
    application/yaml; errors then give the line and the key). A member restricted to their
    teams' services replaces the overrides of those services only."""
    config = await _body(request, settings, HealthConfig, "health.yaml")
    seen = await teams.visibility(session, principal)
    for name in config.services:
        seen.require(name, "service")
    if not seen.everything:
        stored = await repository.load_config(session, principal.org_id)
        body = config.model_dump(exclude_none=True)
        hidden = {k: v for k, v in stored.services.items() if not seen.admits(k)}
        body["services"] |= {k: v.model_dump(exclude_none=True) for k, v in hidden.items()}
        config = _validated(HealthConfig, body)
    await repository.save_config(session, principal.org_id, config)
    await session.flush()
    return _shown(config, seen)


@router.put(
    "/health/config/services/{service_id}",
    response_model=HealthConfig,
    operation_id="put_service_health_config",
    openapi_extra=_BODY,
)
@bulk_body
async def put_service_health_config(
    service_id: PathId,
    request: Request,
    principal: CanWrite,
    session: SessionDep,
    settings: SettingsDep,
) -> HealthConfig:
    """Set one service's weights and thresholds over the org's (JSON or YAML)."""
    found = await get_service(session, principal.org_id, service_id)
    seen = await teams.require_visible(session, principal, found.name, "service")
    override = await _body(request, settings, HealthOverride, "health.yaml")
    config = await repository.load_config(session, principal.org_id)
    body = config.model_dump(exclude_none=True)
    body["services"][found.name] = override.model_dump(exclude_none=True)
    merged = _validated(HealthConfig, body)
    await repository.save_config(session, principal.org_id, merged)
    await session.flush()
    return _shown(merged, seen)


@router.delete(
    "/health/config/services/{service_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_service_health_config",
)
async def delete_service_health_config(
    service_id: PathId, principal: CanWrite, session: SessionDep
) -> Response:
    """Drop one service's override; the org's settings apply to it again."""
    found = await get_service(session, principal.org_id, service_id)
    await teams.require_visible(session, principal, found.name, "service")
    config = await repository.load_config(session, principal.org_id)
    body = config.model_dump(exclude_none=True)
    body["services"].pop(found.name, None)
    await repository.save_config(session, principal.org_id, HealthConfig.model_validate(body))
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
