from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Response

from failcast.auth.principal import CanRead
from failcast.deps import SessionDep, SettingsDep
from failcast.errors import ValidationFailed
from failcast.kit.params import parse_range
from failcast.models import LogLevel
from failcast.query import service
from failcast.query.schemas import LogOut, LogPage, MetricsOut, StatsOut
from failcast.store.labels import exact
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range
from failcast.store.series import select_series
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime, ms_to_rfc3339

router = APIRouter(prefix="/api/v1", tags=["query"])

TIME_HELP = "RFC 3339 with a zone, or Unix seconds."


@router.get("/metrics", response_model=MetricsOut, operation_id="query_metrics")
async def query_metrics(
    principal: CanRead,
    session: SessionDep,
    settings: SettingsDep,
    metric: Annotated[str, Query(min_length=1, max_length=200)],
    service_name: Annotated[str | None, Query(alias="service")] = None,
    labels: Annotated[
        list[str],
        Query(description="Exact label matchers, `name=value`, repeated or comma-separated."),
    ] = [],  # noqa: B006  FastAPI copies query defaults
    selector: Annotated[
        str | None,
        Query(
            max_length=4000,
            description=(
                "More matchers, as a PromQL series selector: "
                '`{path=~"/v1/.*", code!="200", region!~"eu-.*"}`. `=` equal, `!=` not equal, '
                "`=~` / `!~` the regular expression matches / does not match the whole value; "
                'a missing label counts as empty, so `{canary=""}` keeps series without it. '
                "Combined with `metric`, `service` and `labels`: a series must satisfy all."
            ),
        ),
    ] = None,
    start: Annotated[str | None, Query(description=TIME_HELP + " Default: end - 1h.")] = None,
    end: Annotated[str | None, Query(description=TIME_HELP + " Default: now.")] = None,
    step: Annotated[
        str | None, Query(description="Bucket width: 60, 60s, 5m, 1h. Without it, raw samples.")
    ] = None,
    agg: Aggregation = Aggregation.avg,
) -> Response:
    """Series of one metric over [start, end), raw or downsampled into step buckets."""
    span = parse_range(start, end, step)
    matchers = exact(service.parse_matchers(labels))
    if selector:
        matchers += service.parse_selector_param("selector", selector)
    seen = await teams.visibility(session, principal)
    selected = [
        series
        for series in await select_series(session, principal.org_id, metric, service_name, matchers)
        if seen.admits(series.service)
    ]
    limit = settings.max_query_points
    points = await read_range(
        session,
        [series.id for series in selected],
        span.start_ms,
        span.end_ms,
        step_ms=span.step_ms,
        agg=agg,
        limit=limit + 1,
    )
    if sum(len(p) for p in points.values()) > limit:
        raise ValidationFailed(
            [{"field": "step", "msg": f"more than {limit} points; pass a (larger) step"}]
        )
    # Built directly as JSON: a day of points per series would otherwise be validated again
    # against MetricsOut, which costs more than the query itself. The shape is MetricsOut's.
    payload = {
        "start": ms_to_rfc3339(span.start_ms),
        "end": ms_to_rfc3339(span.end_ms),
        "step_seconds": span.step_ms / 1000 if span.step_ms else None,
        "agg": agg.value,
        "series": [
            {
                "id": series.id,
                "service": series.service,
                "metric": series.metric,
                "labels": series.labels,
                "points": [(p.ts / 1000, p.value) for p in points[series.id]],
            }
            for series in selected
        ],
    }
    return Response(orjson.dumps(payload), media_type="application/json")


@router.get("/logs", response_model=LogPage, operation_id="query_logs")
async def query_logs(
    principal: CanRead,
    session: SessionDep,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    level: LogLevel | None = None,
    q: Annotated[
        str | None, Query(max_length=500, description="Text the message contains.")
    ] = None,
    start: Annotated[str | None, Query(description=TIME_HELP + " Default: end - 24h.")] = None,
    end: Annotated[str | None, Query(description=TIME_HELP + " Default: now.")] = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LogPage:
    """Log lines, newest first, in pages; follow `next_cursor` for older lines."""
    span = parse_range(start, end, None, default_span_ms=86_400_000)
    rows, next_cursor = await service.search_logs(
        session,
        principal.org_id,
        service=service_name,
        level=level,
        contains=q,
        start_ms=span.start_ms,
        end_ms=span.end_ms,
        cursor=cursor,
        limit=limit,
        seen=await teams.visibility(session, principal),
    )
    return LogPage(
        logs=[
            LogOut(
                id=entry.id,
                service=name,
                ts=ms_to_datetime(entry.ts),
                level=entry.level,
                message=entry.message,
                attributes=entry.attributes,
            )
            for entry, name in rows
        ],
        next_cursor=next_cursor,
    )


@router.get("/stats", response_model=StatsOut, operation_id="get_stats")
async def stats(principal: CanRead, session: SessionDep) -> StatsOut:
    """How much the org has stored: services, series, samples, logs and the time span."""
    result = await service.org_stats(session, principal.org_id)
    return StatsOut(
        services=result.services,
        series=result.series,
        samples=result.samples,
        logs=result.logs,
        oldest_sample_at=ms_to_datetime(result.oldest_ms) if result.oldest_ms else None,
        newest_sample_at=ms_to_datetime(result.newest_ms) if result.newest_ms else None,
    )
