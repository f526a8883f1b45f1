"""The live simulator: one `Fleet` per org that has it switched on, ticking through the normal
ingestion path, with faults and experiments kept in the database.

The database is the source of truth for faults: after every change the fleet's faults are
rebuilt from the rows, so a restart resumes whatever was still running.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.chaos.engine import WINDOW_S, Fleet
from failcast.chaos.experiment_runs import advance_experiments
from failcast.chaos.faults import Fault, FaultError, FaultKind, Incident, check_fault
from failcast.chaos.rows import fault_from_row
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.errors import Conflict, ValidationFailed
from failcast.ingest.schemas import IngestLimits
from failcast.ingest.service import Ingestor
from failcast.ingest.validate import validate_samples
from failcast.live.hub import Hub, org_topic
from failcast.models import ChaosFault, Organization, Service
from failcast.teams.service import EVERYTHING, Visibility

log = logging.getLogger("failcast.chaos")

Clock = Callable[[], float]
IncidentSink = Callable[[AsyncSession, int, Sequence[Incident]], Awaitable[None]]


async def _no_sink(session: AsyncSession, org_id: int, incidents: Sequence[Incident]) -> None:
    return None


def _incident_key(incident: Incident) -> tuple[str, str, float, float]:
    # The end is part of the key: a fault stopped early records its incident again, with the
    # real end, and the store updates the row it already has.
    return (incident.fault_id, incident.service, round(incident.start, 3), round(incident.end, 3))


class Simulator:
    """Runs the simulated fleets of every org that has the simulator on."""

    def __init__(
        self,
        database: Database,
        ingestor: Ingestor,
        hub: Hub,
        settings: Settings,
        *,
        clock: Clock = time.time,
        incident_sink: IncidentSink = _no_sink,
    ) -> None:
        self.database = database
        self.ingestor = ingestor
        self.hub = hub
        self.settings = settings
        self.clock = clock
        self.incident_sink = incident_sink
        self._fleets: dict[int, Fleet] = {}
        self._recorded: dict[int, set[tuple[str, str, float, float]]] = {}

    # -- fleets and faults ------------------------------------------------------------------

    def new_fleet(self, org_id: int) -> Fleet:
        return Fleet(
            self.settings.simulator_services,
            seed=org_id,
            organic=self.settings.simulator_organic_failures,
            clock=self.clock,
        )

    async def fleet(self, session: AsyncSession, org_id: int) -> Fleet:
        fleet = self._fleets.get(org_id)
        if fleet is None:
            fleet = self._fleets[org_id] = self.new_fleet(org_id)
            await self.sync(session, org_id, fleet)
        return fleet

    async def sync(self, session: AsyncSession, org_id: int, fleet: Fleet) -> None:
        """Rebuild the fleet's injected faults from the rows that can still matter."""
        horizon = self.clock() - WINDOW_S
        rows = await session.scalars(
            select(ChaosFault)
            .where(ChaosFault.org_id == org_id)
            .where(ChaosFault.start + ChaosFault.lead_s + ChaosFault.duration_s > horizon)
            .order_by(ChaosFault.id)
        )
        fleet.reset()
        for row in rows:
            fault = fault_from_row(row)
            if fault is not None:
                fleet.inject(fault)

    async def require_enabled(self, session: AsyncSession, org_id: int) -> None:
        enabled = await session.scalar(
            select(Organization.simulator_enabled).where(Organization.id == org_id)
        )
        if not enabled:
            raise Conflict(
                "the simulator is off for this organisation; "
                "switch it on with PUT /api/v1/chaos/simulator"
            )

    async def set_enabled(self, session: AsyncSession, org_id: int, enabled: bool) -> None:
        """Switch the org's simulator on or off; on declares the fleet's services."""
        await session.execute(
            update(Organization).where(Organization.id == org_id).values(simulator_enabled=enabled)
        )
        if enabled:
            spec = self.new_fleet(org_id).spec
            existing = set(
                await session.scalars(select(Service.name).where(Service.org_id == org_id))
            )
            for service in spec.services:
                if service.name not in existing:
                    session.add(
                        Service(
                            org_id=org_id,
                            name=service.name,
                            kind=service.kind.value,
                            team="simulated",
                            description="Part of the simulated fleet.",
                        )
                    )
        await session.flush()
        if not enabled:
            self._fleets.pop(org_id, None)

    async def inject(
        self,
        session: AsyncSession,
        org_id: int,
        *,
        kind: str,
        target: str,
        duration_s: float,
        intensity: float = 1.0,
        lead_s: float = 0.0,
        now: float | None = None,
    ) -> ChaosFault:
        await self.require_enabled(session, org_id)
        fleet = await self.fleet(session, org_id)
        now = self.clock() if now is None else now
        fault = Fault(
            kind=FaultKind(kind),
            target=target,
            start=now,
            duration_s=duration_s,
            intensity=intensity,
            lead_s=lead_s,
        )
        try:
            check_fault(fault, fleet.spec)
        except FaultError as exc:
            raise ValidationFailed([{"field": None, "msg": str(exc)}]) from None
        row = ChaosFault(
            org_id=org_id,
            kind=fault.kind.value,
            target=target,
            start=now,
            duration_s=duration_s,
            lead_s=lead_s,
            intensity=intensity,
        )
        session.add(row)
        await session.flush()
        await self.sync(session, org_id, fleet)
        return row

    async def faults(
        self, session: AsyncSession, org_id: int, *, active_only: bool, now: float | None = None
    ) -> list[ChaosFault]:
        now = self.clock() if now is None else now
        statement = select(ChaosFault).where(ChaosFault.org_id == org_id)
        if active_only:
            statement = statement.where(
                ChaosFault.start <= now,
                ChaosFault.start + ChaosFault.lead_s + ChaosFault.duration_s > now,
                or_(ChaosFault.stopped_at.is_(None), ChaosFault.stopped_at > now),
            )
        rows = await session.scalars(statement.order_by(ChaosFault.id.desc()).limit(500))
        return list(rows)

    async def stop(
        self,
        session: AsyncSession,
        org_id: int,
        *,
        fault_id: int | None = None,
        experiment_id: int | None = None,
        target: str | None = None,
        now: float | None = None,
        seen: Visibility = EVERYTHING,
    ) -> list[ChaosFault]:
        """Stop active faults (one, an experiment's, a target's, or all) on the services `seen`
        admits at `now`."""
        now = self.clock() if now is None else now
        active = await self.faults(session, org_id, active_only=True, now=now)
        stopped = [
            row
            for row in active
            if (fault_id is None or row.id == fault_id)
            and (experiment_id is None or row.experiment_id == experiment_id)
            and (target is None or row.target == target)
            and seen.admits(row.target)
        ]
        for row in stopped:
            row.stopped_at = now
        await session.flush()
        if org_id in self._fleets:
            await self.sync(session, org_id, self._fleets[org_id])
        return stopped

    # -- the tick ---------------------------------------------------------------------------

    async def enabled_orgs(self) -> list[int]:
        async with session_scope(self.database) as session:
            rows = await session.scalars(
                select(Organization.id).where(Organization.simulator_enabled.is_(True))
            )
            return list(rows)

    async def tick(self, now: float | None = None) -> None:
        """Take one sample of every simulated metric of every enabled org and ingest it."""
        now = self.clock() if now is None else now
        for org_id in await self.enabled_orgs():
            try:
                await self.tick_org(org_id, now)
            except Exception:
                log.exception("simulator tick failed", extra={"org_id": org_id})

    async def tick_org(self, org_id: int, now: float) -> dict[str, Any]:
        async with session_scope(self.database) as session:
            fleet = await self.fleet(session, org_id)
            samples = fleet.tick(now)
            items = [
                {"service": s.service, "metric": s.metric, "ts": s.ts, "value": s.value}
                for s in samples
            ]
            valid, problems = validate_samples(items, IngestLimits.from_settings(self.settings))
            if problems:
                log.error("simulator produced invalid samples", extra={"problems": problems[:5]})
            await self.ingestor.ingest_samples(session, org_id, valid)
            await self._record_incidents(session, org_id, fleet, now)
            await advance_experiments(self, session, org_id, now)
            active = [f.to_dict() for f in fleet.active_faults(now)]
        values: dict[str, dict[str, float]] = {}
        for sample in valid:
            values.setdefault(sample.service, {})[sample.metric] = sample.value
        message = {
            "type": "tick",
            "org_id": org_id,
            "ts": now,
            "values": values,
            "active_faults": active,
        }
        await self.hub.publish(org_topic(org_id), message)
        return message

    async def _record_incidents(
        self, session: AsyncSession, org_id: int, fleet: Fleet, now: float
    ) -> None:
        seen = self._recorded.setdefault(org_id, set())
        fresh = [
            incident for incident in fleet.incidents(now) if _incident_key(incident) not in seen
        ]
        if not fresh:
            return
        await self.incident_sink(session, org_id, fresh)
        seen.update(_incident_key(i) for i in fresh)

    def forget(self, org_id: int) -> None:
        self._fleets.pop(org_id, None)
