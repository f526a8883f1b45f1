"""The services' health as the live stream publishes it (`LivePublisher.read_health`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.health.service import fleet_health
from failcast.live.events import ServiceStatus


async def service_statuses(session: AsyncSession, org_id: int, at_ms: int) -> list[ServiceStatus]:
    fleet = await fleet_health(session, org_id, at_ms)
    return [
        ServiceStatus(
            s.id,
            s.name,
            None if s.health.score is None else round(s.health.score, 1),
            s.health.status,
        )
        for s in fleet.services
    ]
