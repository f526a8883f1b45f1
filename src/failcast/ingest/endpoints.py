from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError

from failcast.auth.principal import CanIngest
from failcast.config import Settings
from failcast.deps import IngestorDep, SessionDep, SettingsDep, TelemetryDep
from failcast.errors import ValidationFailed, problems_from_pydantic
from failcast.ingest.schemas import IngestLimits, IngestResult, LogBatch, MetricBatch
from failcast.ingest.validate import validate_batch
from failcast.kit.bodies import parse_body, parse_json, read_body
from failcast.kit.responses import errors
from failcast.ops.body_limit import bulk_body
from failcast.ops.collector import collector_paused

router = APIRouter(prefix="/api/v1", tags=["ingest"])

BatchT = TypeVar("BatchT", bound=BaseModel)
Route = TypeVar("Route", bound=Callable[..., Any])


def _body_schema(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


def _batch_post(path: str, operation_id: str, model: type[BaseModel]) -> Callable[[Route], Route]:
    """Register a bulk-body endpoint that takes an all-or-nothing batch of `model`."""
    route = router.post(
        path,
        response_model=IngestResult,
        operation_id=operation_id,
        openapi_extra=_body_schema(model),
        responses={
            **errors(402),
            413: {"description": "Batch or body too large"},
            422: {"description": "Invalid"},
        },
    )

    def register(endpoint: Route) -> Route:
        return route(bulk_body(endpoint))

    return register


async def read_batch(
    request: Request, settings: Settings, model: type[BatchT], items: str
) -> BatchT:
    """Parse and validate a whole batch; any problem rejects all of it."""
    data = await parse_body(request, settings, items)
    limits = IngestLimits.from_settings(settings)
    try:
        return model.model_validate(data, context={"limits": limits})
    except ValidationError as exc:
        drop = 1 if all(e["loc"][:1] == (items,) for e in exc.errors()) else 0
        raise ValidationFailed(problems_from_pydantic(exc.errors(), drop=drop)) from None


@_batch_post("/metrics", "ingest_metrics", MetricBatch)
async def ingest_metrics(
    request: Request,
    principal: CanIngest,
    session: SessionDep,
    settings: SettingsDep,
    ingestor: IngestorDep,
    telemetry: TelemetryDep,
) -> IngestResult:
    """Store a batch of samples: all of it, or nothing with a 422 naming every bad sample.

    `ts` is RFC 3339 text with a zone, or Unix seconds. Unknown services and series are created.
    Re-sending a sample for the same series and time overwrites it.
    """
    body = await read_body(request, settings)
    with collector_paused():
        data = parse_json(body, settings, "samples")
        envelope = isinstance(data, dict) and isinstance(data.get("samples"), list)
        if envelope:
            extra = sorted(set(data) - {"samples"})
            batch, problems = validate_batch(
                data["samples"],
                IngestLimits.from_settings(settings),
                ingestor.known,
            )
            problems += [{"field": field, "msg": "unknown field"} for field in extra]
        del data
    if not envelope:
        # Let the schema describe what is wrong with the envelope.
        await read_batch(request, settings, MetricBatch, "samples")
    if problems:
        raise ValidationFailed(problems)
    result = await ingestor.ingest_batch(session, principal.org_id, batch)
    telemetry.samples_ingested.inc(result.accepted)
    return result


@_batch_post("/logs", "ingest_logs", LogBatch)
async def ingest_logs(
    request: Request,
    principal: CanIngest,
    session: SessionDep,
    settings: SettingsDep,
    ingestor: IngestorDep,
    telemetry: TelemetryDep,
) -> IngestResult:
    """Store a batch of log lines, all or nothing. A re-sent line is not stored twice."""
    batch = await read_batch(request, settings, LogBatch, "logs")
    result = await ingestor.ingest_logs(session, principal.org_id, batch.logs)
    telemetry.logs_ingested.inc(result.accepted)
    return result
