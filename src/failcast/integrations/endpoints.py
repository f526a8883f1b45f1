"""Receivers for Prometheus remote_write and OTLP/HTTP metrics, scrape-target management,
Failcast's own results in the Prometheus format, and ML prediction events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Query, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import select

from failcast.auth.principal import CanIngest, CanRead, CanWrite
from failcast.config import Settings
from failcast.deps import (
    EgressDep,
    ExportersDep,
    IntegrationsDep,
    PathId,
    ServicesDep,
    SessionDep,
    SettingsDep,
)
from failcast.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from failcast.ingest.schemas import IngestLimits
from failcast.integrations import otlp, remote_write
from failcast.integrations.auth import CanIngestBasic
from failcast.integrations.exporters import render
from failcast.integrations.mapping import DEFAULT_SERVICE, DropReason, SampleSink
from failcast.integrations.schemas import (
    LabelBatch,
    MlResult,
    PredictionBatch,
    ScrapeTargetIn,
    ScrapeTargetOut,
    ScrapeTargetPatch,
)
from failcast.kit.names import SERVICE_PATTERN
from failcast.kit.responses import errors
from failcast.models import ScrapeTarget
from failcast.ops.body_limit import bulk_body
from failcast.store.remote import samples_engine
from failcast.teams import service as teams

if TYPE_CHECKING:
    from failcast.services import Services

router = APIRouter(tags=["integrations"])


async def _body(request: Request, limit: int) -> bytes:
    body = await request.body()
    if len(body) > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    return body


async def _store(
    services: Services,
    session: SessionDep,
    settings: Settings,
    org_id: int,
    sink: SampleSink,
    source: str,
) -> None:
    """Store the samples: in the embedded store, in transactions of at most
    `max_batch_samples`; in a metrics engine, in one remote write.

    Short transactions keep a large remote write from holding SQLite's write lock for
    seconds (concurrent writers would time out). An engine's samples take no lock here (new
    series are still created in short transactions), and one request to it costs less than
    ten. A sender retries a failed request whole, and
    re-sent samples overwrite, so a write that fails half-way duplicates nothing. Samples of
    new series beyond the org's series limits are dropped (reason `series_limit`), as the
    sender cannot correct them. Every drop is counted in the sink and in
    `failcast_integration_dropped_samples`.
    """
    state = services.integrations
    size = settings.max_batch_samples if samples_engine(session) is None else max(len(sink), 1)
    for start in range(0, len(sink), size):
        chunk = sink.batch.slice(start, start + size)
        result = await services.ingestor.ingest_batch(session, org_id, chunk, partial=True)
        services.telemetry.samples_ingested.inc(result.accepted)
        if result.accepted < len(chunk):
            sink.dropped[DropReason.series_limit] += len(chunk) - result.accepted
    for reason, count in sink.dropped.items():
        state.dropped.labels(source=source, reason=reason).inc(count)


def dropped_headers(sink: SampleSink) -> dict[str, str]:
    """What a receiver kept and dropped, for senders and people reading their logs."""
    stored = len(sink) - sink.dropped.get(DropReason.series_limit, 0)
    reasons = ", ".join(f"{reason}={count}" for reason, count in sorted(sink.dropped.items()))
    headers = {
        "X-Failcast-Accepted": str(stored),
        "X-Failcast-Dropped": str(sink.dropped_total),
        # Remote write 2.0's name for the samples stored.
        "X-Prometheus-Remote-Write-Samples-Written": str(stored),
    }
    if reasons:
        headers["X-Failcast-Dropped-Reasons"] = reasons
    return headers


_RECEIVER_HEADERS = {
    "X-Failcast-Accepted": {"description": "Samples stored.", "schema": {"type": "integer"}},
    "X-Failcast-Dropped": {
        "description": "Samples not stored (non-finite, outside the ingest window, breaking "
        "label limits, or of new series beyond the org's series limits).",
        "schema": {"type": "integer"},
    },
    "X-Failcast-Dropped-Reasons": {
        "description": "The dropped samples by reason, e.g. `out_of_window=3, not_finite=1`; "
        "absent when none were dropped.",
        "schema": {"type": "string"},
    },
}


@router.post(
    "/api/v1/prometheus/write",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="prometheus_remote_write",
    responses={
        **errors(402, 429),
        204: {"description": "Stored what was valid", "headers": _RECEIVER_HEADERS},
        400: {"description": "Not a snappy WriteRequest"},
        413: {"description": "Too large"},
    },
)
@bulk_body
async def prometheus_remote_write(
    request: Request,
    principal: CanIngestBasic,
    session: SessionDep,
    settings: SettingsDep,
    services: ServicesDep,
    default_service: str = Query(
        DEFAULT_SERVICE,
        alias="service",
        pattern=SERVICE_PATTERN,
        description="Service of series that carry neither a `service` nor a `job` label.",
    ),
) -> Response:
    """Prometheus remote write 1.0 (snappy-compressed protobuf).

    Valid samples are stored; NaN (staleness markers), infinities, samples outside the ingest
    window, series breaking the label limits and new series beyond the org's series limits
    are dropped, because Prometheus cannot correct a refused batch. The answer's headers say
    how many were stored and dropped, by reason; `failcast_integration_dropped_samples`
    counts the drops.
    """
    body = await _body(request, settings.max_body_bytes)
    limits = IngestLimits.from_settings(settings)
    try:
        sink = remote_write.body_samples(body, settings.max_body_bytes * 4, limits, default_service)
    except remote_write.PayloadTooBig as exc:
        raise PayloadTooLarge(str(exc)) from None
    except remote_write.PayloadError as exc:
        raise ValidationFailed([{"field": None, "msg": str(exc)}]) from None
    await _store(services, session, settings, principal.org_id, sink, "prometheus_remote_write")
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=dropped_headers(sink))


@router.post(
    "/v1/metrics",
    operation_id="otlp_metrics",
    response_class=Response,
    responses={
        **errors(402, 429),
        200: {"content": {"application/x-protobuf": {}, "application/json": {}}},
    },
)
@bulk_body
async def otlp_metrics(
    request: Request,
    principal: CanIngest,
    session: SessionDep,
    settings: SettingsDep,
    services: ServicesDep,
) -> Response:
    """OTLP/HTTP metrics export, as `application/x-protobuf` or `application/json`.

    Dropped data points (non-finite, flagged as missing, outside the ingest window or breaking
    label limits) are counted in the answer's `partialSuccess`.
    """
    body = await _body(request, settings.max_body_bytes)
    try:
        export, as_json = otlp.parse_request(body, request.headers.get("content-type", ""))
    except otlp.OtlpPayloadError as exc:
        raise ValidationFailed([{"field": None, "msg": str(exc)}]) from None
    sink = otlp.request_samples(export, IngestLimits.from_settings(settings))
    await _store(services, session, settings, principal.org_id, sink, "otlp")
    reasons = ", ".join(f"{count} {reason}" for reason, count in sorted(sink.dropped.items()))
    content, media = otlp.response_body(sink.dropped_total, f"dropped: {reasons}", as_json)
    return Response(content, media_type=media)


@router.get(
    "/api/v1/prometheus/metrics",
    operation_id="prometheus_export",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
async def prometheus_export(
    principal: CanRead, session: SessionDep, registry: ExportersDep
) -> Response:
    """The org's results (incident probabilities, anomaly and level-shift scores, health, SLO
    burn rates and budgets, time to breach, sample counts) in the Prometheus text format, for a
    Prometheus server to scrape with the API key as bearer token."""
    seen = await teams.visibility(session, principal)
    samples = [
        s
        for s in await registry.collect(session, principal.org_id)
        if "service" not in s.labels or seen.admits(s.labels["service"])
    ]
    return Response(render(samples), media_type=CONTENT_TYPE_LATEST)


def _target_out(target: ScrapeTarget) -> ScrapeTargetOut:
    return ScrapeTargetOut(
        id=target.id,
        service=target.service,
        url=target.url,
        interval=target.interval_seconds,
        timeout=target.timeout_seconds,
        labels=target.labels,
        enabled=target.enabled,
        created_at=target.created_at,
        up=target.up,
        last_scrape_at=target.last_scrape_at,
        last_duration_seconds=target.last_duration_seconds,
        last_samples=target.last_samples,
        last_error=target.last_error,
        next_scrape_at=target.next_scrape_at,
    )


async def _target(session: SessionDep, org_id: int, target_id: int) -> ScrapeTarget:
    target = await session.scalar(
        select(ScrapeTarget).where(ScrapeTarget.id == target_id, ScrapeTarget.org_id == org_id)
    )
    if target is None:
        raise NotFound("scrape target not found")
    return target


async def _url_taken(session: SessionDep, org_id: int, url: str, other_than: int | None) -> None:
    existing = await session.scalar(
        select(ScrapeTarget.id).where(ScrapeTarget.org_id == org_id, ScrapeTarget.url == url)
    )
    if existing is not None and existing != other_than:
        raise Conflict(f"a scrape target for {url} already exists")


@router.get(
    "/api/v1/scrape-targets",
    response_model=list[ScrapeTargetOut],
    operation_id="list_scrape_targets",
)
async def list_scrape_targets(principal: CanRead, session: SessionDep) -> list[ScrapeTargetOut]:
    """Every scrape target of the org with the outcome of its last scrape."""
    rows = await session.scalars(
        select(ScrapeTarget)
        .where(ScrapeTarget.org_id == principal.org_id)
        .order_by(ScrapeTarget.service, ScrapeTarget.url)
    )
    return [_target_out(t) for t in rows]


@router.post(
    "/api/v1/scrape-targets",
    response_model=ScrapeTargetOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_scrape_target",
    responses=errors(409),
)
async def create_scrape_target(
    body: ScrapeTargetIn, principal: CanWrite, session: SessionDep, egress: EgressDep
) -> ScrapeTargetOut:
    """Pull a Prometheus exposition endpoint for a service every `interval` seconds. Targets
    on private, loopback or link-local addresses are refused unless the operator allows
    their network (`outbound_allowed_networks`)."""
    if body.timeout > body.interval:
        raise ValidationFailed([{"field": "timeout", "msg": "timeout may not exceed the interval"}])
    reason = egress.check_host(body.url.host or "")
    if reason:
        raise ValidationFailed([{"field": "url", "msg": reason}])
    url = str(body.url)
    await _url_taken(session, principal.org_id, url, None)
    target = ScrapeTarget(
        org_id=principal.org_id,
        service=body.service,
        url=url,
        interval_seconds=body.interval,
        timeout_seconds=body.timeout,
        labels=body.labels,
        enabled=body.enabled,
    )
    session.add(target)
    await session.flush()
    return _target_out(target)


@router.get(
    "/api/v1/scrape-targets/{target_id}",
    response_model=ScrapeTargetOut,
    operation_id="get_scrape_target",
)
async def get_scrape_target(
    target_id: PathId, principal: CanRead, session: SessionDep
) -> ScrapeTargetOut:
    """One scrape target and its health."""
    return _target_out(await _target(session, principal.org_id, target_id))


@router.patch(
    "/api/v1/scrape-targets/{target_id}",
    response_model=ScrapeTargetOut,
    operation_id="update_scrape_target",
)
async def update_scrape_target(
    target_id: PathId, body: ScrapeTargetPatch, principal: CanWrite, session: SessionDep
) -> ScrapeTargetOut:
    """Change a target's service, interval, timeout, labels or whether it is scraped."""
    target = await _target(session, principal.org_id, target_id)
    changes = body.model_dump(exclude_unset=True)
    columns = {"interval": "interval_seconds", "timeout": "timeout_seconds"}
    for field, value in changes.items():
        if value is not None:
            setattr(target, columns.get(field, field), value)
    if target.timeout_seconds > target.interval_seconds:
        raise ValidationFailed([{"field": "timeout", "msg": "timeout may not exceed the interval"}])
    await session.flush()
    return _target_out(target)


@router.delete(
    "/api/v1/scrape-targets/{target_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="delete_scrape_target",
)
async def delete_scrape_target(
    target_id: PathId, principal: CanWrite, session: SessionDep
) -> Response:
    """Stop scraping a target; its samples stay."""
    target = await _target(session, principal.org_id, target_id)
    await session.delete(target)
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/api/v1/ml/predictions",
    response_model=MlResult,
    operation_id="log_predictions",
    responses=errors(402, 429),
)
@bulk_body
async def log_predictions(
    body: PredictionBatch,
    principal: CanIngest,
    session: SessionDep,
    settings: SettingsDep,
    integrations: IntegrationsDep,
) -> MlResult:
    """Record a model's predictions (id, features, prediction); the value feeds the model's
    `prediction` series. A label sent before its prediction is joined now."""
    outcome = await integrations.predictions.add_predictions(
        session,
        principal.org_id,
        body.model,
        body.predictions,
        IngestLimits.from_settings(settings),
    )
    return MlResult(accepted=outcome.accepted, joined=outcome.joined, accuracy=outcome.accuracy)


@router.post(
    "/api/v1/ml/labels",
    response_model=MlResult,
    operation_id="log_labels",
    responses=errors(402, 429),
)
@bulk_body
async def log_labels(
    body: LabelBatch,
    principal: CanIngest,
    session: SessionDep,
    settings: SettingsDep,
    integrations: IntegrationsDep,
) -> MlResult:
    """Record ground truth for earlier predictions; joined labels update the model's rolling
    `accuracy` series, which health scores and alerts read."""
    outcome = await integrations.predictions.add_labels(
        session, principal.org_id, body.model, body.labels, IngestLimits.from_settings(settings)
    )
    return MlResult(accepted=outcome.accepted, joined=outcome.joined, accuracy=outcome.accuracy)
