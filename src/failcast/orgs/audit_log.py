"""The org's audit trail, newest first, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.cursors import row_id
from failcast.models import AuditEvent

MAX_AUDIT_PAGE = 500


def _aware(moment: datetime | None) -> datetime | None:
    # A time without a zone in a query string is read as UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def audit_page(
    session: AsyncSession,
    org_id: int,
    *,
    action: str | None,
    actor_user_id: int | None,
    target: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[AuditEvent], str | None]:
    """A page of the org's audit events, newest first, continuing after `cursor`."""
    since, until = _aware(since), _aware(until)
    query = select(AuditEvent).where(AuditEvent.org_id == org_id)
    if action:
        # "auth." matches every auth action; a full name matches itself.
        query = query.where(
            AuditEvent.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEvent.action == action
        )
    if actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == actor_user_id)
    if target:
        query = query.where(AuditEvent.target == target)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    if cursor:
        query = query.where(AuditEvent.id < row_id(cursor))
    rows = list(await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return page, (str(page[-1].id) if len(rows) > limit else None)
