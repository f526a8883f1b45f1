"""Reliability reports as PDF: on demand, stored, listed, and who receives the weekly one.

A member restricted to their teams' services gets on-demand reports about those services only;
stored reports cover the whole org, so such a member neither lists, reads nor stores them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from failcast.auth.principal import CanAdmin, CanRead, CanWrite
from failcast.deps import PathId, SessionDep
from failcast.errors import Forbidden, NotFound
from failcast.kit.params import parse_range
from failcast.kit.responses import errors
from failcast.models import ReliabilityReport, ReportTrigger
from failcast.reports import service
from failcast.reports.schemas import (
    ReportIn,
    ReportList,
    ReportOut,
    SubscriberIn,
    SubscriberList,
    SubscriberOut,
)
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

TIME_HELP = "RFC 3339 with a zone, or Unix seconds."
WEEK_MS = 7 * 86_400_000
PDF: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The report as PDF"}
}


def _pdf(document: bytes, name: str) -> Response:
    headers = {"Content-Disposition": f'inline; filename="{name}"'}
    return Response(document, media_type="application/pdf", headers=headers)


def _out(row: ReliabilityReport) -> ReportOut:
    return ReportOut(
        id=row.id,
        period_start=row.period_start,
        period_end=row.period_end,
        trigger=row.trigger,
        size=row.size,
        created_at=row.created_at,
        url=f"/api/v1/reports/{row.id}.pdf",
    )


@router.get(
    "/reliability.pdf",
    response_class=Response,
    responses=PDF,
    operation_id="reliability_report_pdf",
)
async def reliability_pdf(
    principal: CanRead,
    session: SessionDep,
    start: Annotated[str | None, Query(description=TIME_HELP + " Default: end - 7 days.")] = None,
    end: Annotated[str | None, Query(description=TIME_HELP + " Default: now.")] = None,
) -> Response:
    """The org's reliability report for [start, end), made now: executive summary, health
    trend, incidents and MTTR, SLO compliance, predictions against outcomes, top risks (of
    the caller's teams' services, in an org that restricts members to them)."""
    span = parse_range(start, end, None, default_span_ms=WEEK_MS)
    now = datetime.now(UTC)
    seen = await teams.visibility(session, principal)
    document, _ = await service.pdf(
        session, principal.org_id, span.start_ms, span.end_ms, now, seen
    )
    name = service.filename(
        principal.org_id, ms_to_datetime(span.start_ms), ms_to_datetime(span.end_ms)
    )
    return _pdf(document, name)


@router.post(
    "",
    response_model=ReportOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_report",
    responses=errors(403),
)
async def create_report(body: ReportIn, principal: CanWrite, session: SessionDep) -> ReportOut:
    """Generate the report for a period and keep it; fetch it from the returned `url`."""
    if not (await teams.visibility(session, principal)).everything:
        raise Forbidden(
            "stored reports cover the whole organisation; GET /api/v1/reports/reliability.pdf"
            " makes one of your teams' services"
        )
    span = parse_range(body.start, body.end, None, default_span_ms=WEEK_MS)
    row, _ = await service.store(
        session,
        principal.org_id,
        span.start_ms,
        span.end_ms,
        ReportTrigger.on_demand,
        datetime.now(UTC),
    )
    return _out(row)


@router.get("", response_model=ReportList, operation_id="list_reports")
async def list_reports(principal: CanRead, session: SessionDep) -> ReportList:
    """Stored reports, newest first (the last 200)."""
    if not (await teams.visibility(session, principal)).everything:
        return ReportList(reports=[])
    return ReportList(reports=[_out(r) for r in await service.listing(session, principal.org_id)])


@router.get(
    "/subscriptions", response_model=SubscriberList, operation_id="list_report_subscriptions"
)
async def list_subscriptions(principal: CanRead, session: SessionDep) -> SubscriberList:
    """Addresses that receive the weekly report."""
    rows = await service.subscribers(session, principal.org_id)
    return SubscriberList(
        subscribers=[SubscriberOut(id=r.id, email=r.email, created_at=r.created_at) for r in rows]
    )


@router.post(
    "/subscriptions",
    response_model=SubscriberOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_report_subscription",
    responses=errors(409),
)
async def subscribe(body: SubscriberIn, principal: CanAdmin, session: SessionDep) -> SubscriberOut:
    """Mail the weekly report (PDF attached) to one more address."""
    row = await service.subscribe(session, principal.org_id, str(body.email))
    return SubscriberOut(id=row.id, email=row.email, created_at=row.created_at)


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    operation_id="delete_report_subscription",
)
async def unsubscribe(
    subscription_id: PathId, principal: CanAdmin, session: SessionDep
) -> Response:
    """Stop mailing the weekly report to this address."""
    await service.unsubscribe(session, principal.org_id, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{report_id}.pdf", response_class=Response, responses=PDF, operation_id="get_report_pdf"
)
async def report_pdf(report_id: PathId, principal: CanRead, session: SessionDep) -> Response:
    """A stored report's PDF."""
    if not (await teams.visibility(session, principal)).everything:
        raise NotFound("report not found")
    row = await service.stored(session, principal.org_id, report_id)
    return _pdf(row.pdf, service.filename(row.org_id, row.period_start, row.period_end))
