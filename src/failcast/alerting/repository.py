"""Queries of the alerting tables, always scoped to one org."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.models import Alert, AlertEvent, AlertRule
from failcast.teams.service import EVERYTHING, Visibility


async def find_rule(session: AsyncSession, org_id: int, name: str) -> AlertRule | None:
    return await session.scalar(
        select(AlertRule).where(AlertRule.org_id == org_id, AlertRule.name == name)
    )


async def list_rules(session: AsyncSession, org_id: int) -> list[AlertRule]:
    rows = await session.scalars(
        select(AlertRule).where(AlertRule.org_id == org_id).order_by(AlertRule.name)
    )
    return list(rows)


async def list_alerts(
    session: AsyncSession,
    org_id: int,
    *,
    states: list[str],
    severities: list[str],
    service: str | None,
    text: str | None,
    start: datetime | None,
    end: datetime | None,
    before: tuple[datetime, int] | None,
    limit: int,
    seen: Visibility = EVERYTHING,
) -> list[Alert]:
    """Newest first by start time, of the services `seen` admits; `before` is the last
    (started_at, id) of the previous page."""
    statement = (
        select(Alert)
        .where(Alert.org_id == org_id)
        .order_by(Alert.started_at.desc(), Alert.id.desc())
        .limit(limit)
    )
    statement = statement.where(Alert.state.in_(states) if states else Alert.state != "pending")
    if severities:
        statement = statement.where(Alert.severity.in_(severities))
    if service is not None:
        statement = statement.where(Alert.service == service)
    statement = statement.where(seen.where(Alert.service))
    if text:
        pattern = f"%{text.lower()}%"
        statement = statement.where(or_(Alert.title.ilike(pattern), Alert.service.ilike(pattern)))
    if start is not None:
        # Overlapping the range: started before its end and not resolved before its start.
        statement = statement.where(or_(Alert.resolved_at.is_(None), Alert.resolved_at >= start))
    if end is not None:
        statement = statement.where(Alert.started_at < end)
    if before is not None:
        at, id_ = before
        statement = statement.where(
            or_(Alert.started_at < at, (Alert.started_at == at) & (Alert.id < id_))
        )
    return list(await session.scalars(statement))


async def timeline(session: AsyncSession, alert_id: int) -> list[AlertEvent]:
    rows = await session.scalars(
        select(AlertEvent)
        .where(AlertEvent.alert_id == alert_id)
        .order_by(AlertEvent.at, AlertEvent.id)
    )
    return list(rows)
