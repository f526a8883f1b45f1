"""Ground truth: the simulator's incidents, stored like any other incident (source simulator)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting.incidents import store_batch, validate_batch
from failcast.chaos.faults import Incident
from failcast.models import IncidentSource


def _title(incident: Incident) -> str:
    cause = incident.root_cause_service
    suffix = f" (caused by {cause})" if cause and cause != incident.service else ""
    return f"{incident.fault.replace('_', ' ')} on {incident.service}{suffix}"


async def store_incidents(
    session: AsyncSession, org_id: int, incidents: Sequence[Incident]
) -> None:
    """Store (or update, by service, type and start) the incidents the fleet has produced."""
    items = validate_batch(
        {"incidents": [incident.to_api() | {"title": _title(incident)} for incident in incidents]},
        default_source=IncidentSource.simulator,
    )
    details = [
        {
            "fault_id": incident.fault_id,
            "fault": str(incident.fault),
            "precursor_start": incident.precursor_start,
        }
        for incident in incidents
    ]
    await store_batch(session, org_id, items, details)
