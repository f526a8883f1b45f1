"""GET /api/v1/export/{kind}: metrics, alerts, incidents or predictions as a streamed file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from failcast.auth import audit
from failcast.auth.principal import CanRead
from failcast.deps import DatabaseDep, SessionDep
from failcast.exports import service
from failcast.exports.formats import MEDIA_TYPES, Format, encode
from failcast.kit.params import parse_range
from failcast.teams import service as teams
from failcast.timeutil import ms_to_rfc3339

router = APIRouter(prefix="/api/v1", tags=["export"])

TIME_HELP = "RFC 3339 with a zone, or Unix seconds."
WEEK_MS = 7 * 86_400_000


@router.get(
    "/export/{kind}",
    operation_id="export",
    response_class=StreamingResponse,
    responses={200: {"content": {m: {} for m in MEDIA_TYPES.values()}}},
)
async def export(
    kind: service.Kind,
    principal: CanRead,
    session: SessionDep,
    database: DatabaseDep,
    fmt: Annotated[Format, Query(alias="format")] = Format.csv,
    start: Annotated[str | None, Query(description=TIME_HELP + " Default: end - 7 days.")] = None,
    end: Annotated[str | None, Query(description=TIME_HELP + " Default: now.")] = None,
    service_name: Annotated[str | None, Query(alias="service", max_length=128)] = None,
    metric: Annotated[str | None, Query(max_length=200, description="metrics only")] = None,
) -> StreamingResponse:
    """Stream every row of `kind` in [start, end) as CSV, JSON, JSON lines or Excel.

    Times are UTC: RFC 3339 in CSV and JSON, zone-less UTC in Excel (which cannot hold zones).
    """
    span = parse_range(start, end, None, default_span_ms=WEEK_MS)
    seen = await teams.visibility(session, principal)
    query = service.Query(
        principal.org_id, kind, span.start_ms, span.end_ms, service_name, metric, seen
    )
    audit.record(
        session, principal.org_id, principal, "export.created", f"export:{kind.value}",
        {"format": fmt.value, "start": ms_to_rfc3339(span.start_ms),
         "end": ms_to_rfc3339(span.end_ms), "service": service_name, "metric": metric},
    )  # fmt: skip
    await session.flush()
    chunks = service.chunks(database, query)
    stamp = f"{ms_to_rfc3339(span.start_ms)}_{ms_to_rfc3339(span.end_ms)}".replace(":", "")
    filename = f"failcast-{kind.value}-{stamp}.{fmt.value}"
    return StreamingResponse(
        encode(fmt, service.COLUMNS[kind], chunks),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
