"""Maintenance windows: a service's alerts are suppressed while one is open."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from sqlalchemy import select

from failcast.alerting.schemas import (
    MaintenanceIn,
    MaintenanceOut,
)
from failcast.auth.principal import CanRead, CanWrite
from failcast.db.base import utcnow
from failcast.db.owned import get_owned
from failcast.deps import PathId, SessionDep
from failcast.models import MaintenanceWindow

maintenance = APIRouter(prefix="/maintenance-windows", tags=["alerting"])


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
    window = MaintenanceWindow(org_id=principal.org_id, created_at=utcnow(), **body.model_dump())
    session.add(window)
    await session.flush()
    return MaintenanceOut.model_validate(window)


@maintenance.delete(
    "/{window_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_maintenance_window",
)
async def delete_window(window_id: PathId, principal: CanWrite, session: SessionDep) -> Response:
    window = await get_owned(
        session, MaintenanceWindow, principal.org_id, window_id, "maintenance window"
    )
    await session.delete(window)
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
