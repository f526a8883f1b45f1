"""Reliability reports: render on demand, store, list, and mail the weekly one to subscribers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import anyio
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from failcast.auth.mailer import Mailer
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.errors import Conflict, NotFound, ValidationFailed
from failcast.models import Organization, ReliabilityReport, ReportSubscription, ReportTrigger
from failcast.reports.data import gather
from failcast.reports.mail import report_email, send_with_pdf
from failcast.reports.render import render
from failcast.teams.service import EVERYTHING, Visibility
from failcast.timeutil import ms_to_datetime

log = logging.getLogger("failcast.reports")

WEEK = timedelta(days=7)
MAX_SPAN_MS = 366 * 86_400_000


def check_span(start_ms: int, end_ms: int) -> None:
    if end_ms - start_ms > MAX_SPAN_MS:
        raise ValidationFailed([{"field": "start", "msg": "a report covers at most 366 days"}])


async def pdf(
    session: AsyncSession,
    org_id: int,
    start_ms: int,
    end_ms: int,
    now: datetime,
    seen: Visibility = EVERYTHING,
) -> tuple[bytes, str]:
    """(PDF, executive summary) of the org's report for [start, end), over the services
    `seen` admits."""
    check_span(start_ms, end_ms)
    data = await gather(session, org_id, start_ms, end_ms, now, seen)
    # Drawing charts and laying out pages is CPU work: keep it off the event loop.
    document = await anyio.to_thread.run_sync(render, data)
    return document, data.summary


def filename(org_id: int, start: datetime, end: datetime) -> str:
    return f"failcast-reliability-{org_id}-{start:%Y%m%d}-{end:%Y%m%d}.pdf"


async def store(
    session: AsyncSession,
    org_id: int,
    start_ms: int,
    end_ms: int,
    trigger: ReportTrigger,
    now: datetime,
) -> tuple[ReliabilityReport, str]:
    document, summary = await pdf(session, org_id, start_ms, end_ms, now)
    row = ReliabilityReport(
        org_id=org_id,
        period_start=ms_to_datetime(start_ms),
        period_end=ms_to_datetime(end_ms),
        trigger=trigger,
        size=len(document),
        pdf=document,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row, summary


async def listing(session: AsyncSession, org_id: int) -> list[ReliabilityReport]:
    # The PDF itself is not loaded for a listing.
    rows = await session.scalars(
        select(ReliabilityReport)
        .where(ReliabilityReport.org_id == org_id)
        .order_by(ReliabilityReport.created_at.desc(), ReliabilityReport.id.desc())
        .limit(200)
        .options(defer(ReliabilityReport.pdf))
    )
    return list(rows)


async def stored(session: AsyncSession, org_id: int, report_id: int) -> ReliabilityReport:
    row = await session.get(ReliabilityReport, report_id)
    if row is None or row.org_id != org_id:
        raise NotFound("report not found")
    return row


async def subscribers(session: AsyncSession, org_id: int) -> list[ReportSubscription]:
    rows = await session.scalars(
        select(ReportSubscription)
        .where(ReportSubscription.org_id == org_id)
        .order_by(ReportSubscription.email)
    )
    return list(rows)


async def subscribe(session: AsyncSession, org_id: int, email: str) -> ReportSubscription:
    row = ReportSubscription(org_id=org_id, email=email.strip().lower())
    session.add(row)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"{email} already receives the weekly report") from None
    return row


async def unsubscribe(session: AsyncSession, org_id: int, subscription_id: int) -> None:
    result = await session.execute(
        delete(ReportSubscription).where(
            ReportSubscription.id == subscription_id, ReportSubscription.org_id == org_id
        )
    )
    if not getattr(result, "rowcount", 0):
        raise NotFound("subscription not found")


def last_scheduled(now: datetime, weekday: int, hour: int) -> datetime:
    """The most recent weekly send time (weekday, hour UTC) at or before `now`."""
    now = now.astimezone(UTC)
    at = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    at -= timedelta(days=(at.weekday() - weekday) % 7)
    return at if at <= now else at - WEEK


class WeeklyReports:
    """The periodic job: each org with subscribers gets last week's report once."""

    def __init__(
        self,
        database: Database,
        mailer: Callable[[], Mailer],
        *,
        weekday: int,
        hour: int,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.database = database
        self.mailer = mailer
        self.weekday = weekday
        self.hour = hour
        self.clock = clock

    async def run(self) -> int:
        """Generate, store and mail every report due; the number of emails sent."""
        now = self.clock()
        end = last_scheduled(now, self.weekday, self.hour)
        start = end - WEEK
        async with session_scope(self.database) as session:
            org_ids = sorted(set(await session.scalars(select(ReportSubscription.org_id))))
            done = set(
                await session.scalars(
                    select(ReliabilityReport.org_id).where(
                        ReliabilityReport.trigger == ReportTrigger.schedule,
                        ReliabilityReport.period_end == end,
                    )
                )
            )
        sent = 0
        for org_id in org_ids:
            if org_id in done:
                continue
            try:
                sent += await self._org(org_id, start, end, now)
            except Exception:
                log.exception("weekly report failed", extra={"org_id": org_id})
        return sent

    async def _org(self, org_id: int, start: datetime, end: datetime, now: datetime) -> int:
        start_ms, end_ms = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
        async with session_scope(self.database) as session:
            row, summary = await store(
                session, org_id, start_ms, end_ms, ReportTrigger.schedule, now
            )
            org = await session.get(Organization, org_id)
            assert org is not None
            people = [s.email for s in await subscribers(session, org_id)]
        period = f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"
        name = filename(org_id, start, end)
        sent = 0
        for address in people:
            email = report_email(address, org.name, period, summary)
            sent += await send_with_pdf(self.mailer(), email, row.pdf, name)
        return sent
