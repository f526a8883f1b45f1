from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from failcast import __version__
from failcast.db.transactions import session_scope
from failcast.deps import DatabaseDep, TelemetryDep

router = APIRouter(tags=["operations"])


@router.get("/health", operation_id="health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok", "version": __version__}


@router.get("/ready", operation_id="ready", responses={503: {"description": "Not ready"}})
async def ready(database: DatabaseDep) -> JSONResponse:
    """Readiness: the store answers a query."""
    try:
        async with session_scope(database) as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return JSONResponse(
            {"status": "unavailable", "checks": {"database": type(exc).__name__}}, 503
        )
    return JSONResponse({"status": "ready", "checks": {"database": "ok"}})


@router.get("/metrics", operation_id="prometheus_metrics", response_class=Response)
async def metrics(telemetry: TelemetryDep) -> Response:
    """Failcast's own metrics in the Prometheus text exposition format."""
    registry = telemetry.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
