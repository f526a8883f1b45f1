from __future__ import annotations

from fastapi import APIRouter, status

from failcast.auth.principal import CanRead, CanWrite
from failcast.catalog import repository
from failcast.catalog.schemas import ServiceDetail, ServiceIn, ServiceOut, ServicePatch
from failcast.deps import PathId, SessionDep
from failcast.errors import Conflict
from failcast.kit.responses import errors
from failcast.models import Service
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime

router = APIRouter(prefix="/api/v1/services", tags=["services"])


@router.get("", response_model=list[ServiceOut], operation_id="list_services")
async def list_services(principal: CanRead, session: SessionDep) -> list[ServiceOut]:
    """Every service, model and pipeline of the org, by name."""
    services = await repository.list_services(session, principal.org_id)
    seen = await teams.visibility(session, principal)
    return [ServiceOut.model_validate(s) for s in services if seen.admits(s.name)]


@router.post(
    "",
    response_model=ServiceOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_service",
    responses=errors(409, 402),
)
async def create_service(body: ServiceIn, principal: CanWrite, session: SessionDep) -> ServiceOut:
    """Declare a service ahead of its first metrics, with its kind, team, tier and owner."""
    if await repository.find_service(session, principal.org_id, body.name):
        raise Conflict(f"a service named {body.name!r} already exists")
    service = Service(org_id=principal.org_id, **body.model_dump())
    session.add(service)
    await session.flush()
    return ServiceOut.model_validate(service)


@router.get("/{service_id}", response_model=ServiceDetail, operation_id="get_service")
async def get_service(service_id: PathId, principal: CanRead, session: SessionDep) -> ServiceDetail:
    """One service with its metric names and the time of its newest sample."""
    service = await repository.get_service(session, principal.org_id, service_id)
    await teams.require_visible(session, principal, service.name, "service")
    metrics, series_count = await repository.service_metrics(session, service.id)
    last = await repository.last_sample_ms(session, service.id)
    return ServiceDetail(
        **ServiceOut.model_validate(service).model_dump(),
        metrics=metrics,
        series_count=series_count,
        last_sample_at=ms_to_datetime(last) if last is not None else None,
    )


@router.patch("/{service_id}", response_model=ServiceOut, operation_id="update_service")
async def update_service(
    service_id: PathId, body: ServicePatch, principal: CanWrite, session: SessionDep
) -> ServiceOut:
    """Change a service's kind, team, tier, owner or description."""
    service = await repository.get_service(session, principal.org_id, service_id)
    await teams.require_visible(session, principal, service.name, "service")
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(service, field, value)
    await session.flush()
    return ServiceOut.model_validate(service)
