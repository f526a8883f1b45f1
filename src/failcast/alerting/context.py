"""What an alert says besides "it fired": recommendations from the mitigation playbook of its
incident type, and the time similar incidents took to resolve."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.base import utcnow
from failcast.models import Incident, MitigationPlaybook
from failcast.models.incident import INCIDENT_TYPES, IncidentType

# Fewer resolved incidents than this make a median that misleads more than it helps.
MIN_MTTR_HISTORY = 3


@cache
def default_playbooks() -> dict[str, list[str]]:
    """The shipped playbooks, read once from `playbooks.yaml`."""
    text = resources.files("failcast.alerting").joinpath("playbooks.yaml").read_text()
    data = yaml.safe_load(text)
    return {kind.value: [str(step) for step in data[kind.value]] for kind in IncidentType}


async def playbooks(session: AsyncSession, org_id: int) -> dict[str, tuple[list[str], bool]]:
    """Every incident type's steps for the org, and whether the org has customised them."""
    custom = {
        row.incident_type: row.steps
        for row in await session.scalars(
            select(MitigationPlaybook).where(MitigationPlaybook.org_id == org_id)
        )
    }
    return {
        kind: (list(custom[kind]), True) if kind in custom else (steps, False)
        for kind, steps in default_playbooks().items()
    }


async def set_playbook(
    session: AsyncSession, org_id: int, incident_type: str, steps: list[str]
) -> MitigationPlaybook:
    """Store the org's own steps for one incident type."""
    row = await session.scalar(
        select(MitigationPlaybook).where(
            MitigationPlaybook.org_id == org_id,
            MitigationPlaybook.incident_type == incident_type,
        )
    )
    if row is None:
        row = MitigationPlaybook(org_id=org_id, incident_type=incident_type)
        session.add(row)
    row.steps = steps
    row.updated_at = utcnow()
    await session.flush()
    return row


async def reset_playbook(session: AsyncSession, org_id: int, incident_type: str) -> None:
    """Drop the org's own steps for one incident type: the shipped ones apply again."""
    await session.execute(
        delete(MitigationPlaybook).where(
            MitigationPlaybook.org_id == org_id,
            MitigationPlaybook.incident_type == incident_type,
        )
    )


async def recommendations(session: AsyncSession, org_id: int, incident_type: str) -> list[str]:
    steps = await session.scalar(
        select(MitigationPlaybook.steps).where(
            MitigationPlaybook.org_id == org_id, MitigationPlaybook.incident_type == incident_type
        )
    )
    if steps is not None:
        return list(steps)
    return list(default_playbooks().get(incident_type, []))


@dataclass(frozen=True, slots=True)
class MttrEstimate:
    """Time to resolve, from past incidents of one type."""

    incidents: int
    median_minutes: float | None
    min_minutes: float | None
    max_minutes: float | None

    @property
    def enough(self) -> bool:
        return self.median_minutes is not None

    def as_dict(self) -> dict[str, Any]:
        if not self.enough:
            return {"incidents": self.incidents, "note": "not enough history"}
        return {
            "incidents": self.incidents,
            "median_minutes": self.median_minutes,
            "min_minutes": self.min_minutes,
            "max_minutes": self.max_minutes,
        }


def estimate_mttr(durations_minutes: Sequence[float]) -> MttrEstimate:
    """Median and range of the durations, or "not enough history" below MIN_MTTR_HISTORY."""
    count = len(durations_minutes)
    if count < MIN_MTTR_HISTORY:
        return MttrEstimate(count, None, None, None)
    return MttrEstimate(
        count,
        round(float(statistics.median(durations_minutes)), 1),
        round(float(min(durations_minutes)), 1),
        round(float(max(durations_minutes)), 1),
    )


async def mttr(session: AsyncSession, org_id: int, incident_type: str) -> MttrEstimate:
    """The time to recover from incidents of `incident_type`, from the org's past ones; a type
    no incident can have (an alert's `unknown`) has no history."""
    if incident_type not in INCIDENT_TYPES:
        return estimate_mttr([])
    rows = await session.execute(
        select(Incident.started_at, Incident.ended_at).where(
            Incident.org_id == org_id,
            Incident.type == incident_type,
            Incident.ended_at.is_not(None),
        )
    )
    durations = [(end - start).total_seconds() / 60.0 for start, end in rows if end is not None]
    return estimate_mttr([d for d in durations if d >= 0])
