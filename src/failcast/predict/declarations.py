"""What an org declares about its metrics: the role a metric plays (latency, errors,
saturation...) and its limit, when its name and unit do not say."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.errors import NotFound, ValidationFailed
from failcast.models import MetricDeclaration
from failcast.predict import repository


async def declare_metric(
    session: AsyncSession,
    org_id: int,
    metric: str,
    *,
    service: str = "",
    role: str | None = None,
    limit: float | None = None,
) -> MetricDeclaration:
    """Set (or replace) the role and limit the org declares for `metric` (of `service`, or of
    every service with "")."""
    if role is None and limit is None:
        raise ValidationFailed(
            [{"field": "body", "msg": "declare a role, a limit or both; DELETE removes one"}]
        )
    row = await repository.declaration(session, org_id, service, metric)
    if row is None:
        row = MetricDeclaration(org_id=org_id, service=service, metric=metric)
        session.add(row)
    row.role, row.limit_value = role, limit
    await session.flush()
    return row


async def forget_metric(session: AsyncSession, org_id: int, metric: str, service: str) -> None:
    row = await repository.declaration(session, org_id, service, metric)
    if row is None:
        raise NotFound(f"no declaration for {metric!r}" + (f" of {service}" if service else ""))
    await session.delete(row)
    await session.flush()
