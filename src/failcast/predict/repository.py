"""Queries for the prediction domain: fleet data on the grid, incidents, versions, predictions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import numpy as np
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.errors import NotFound
from failcast.models import (
    FailurePrediction,
    Incident,
    MetricDeclaration,
    ModelStatus,
    ModelVersion,
    Series,
    Service,
)
from failcast.predict.dataset import STEP_MS, FleetData, ServiceData
from failcast.predict.labels import IncidentRecord
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range
from failcast.teams.service import EVERYTHING, Visibility
from failcast.timeutil import ms_to_datetime
from failcast.topology.graph import DependencyGraph

# The org's one dependency graph (`Services.topology`): declared, simulated and
# label-discovered edges merged, as the topology page, cascade risk and inhibition read it.
TopologyProvider = Callable[[AsyncSession, int], Awaitable[DependencyGraph]]


async def dependencies(
    session: AsyncSession, org_id: int, topology: TopologyProvider | None = None
) -> dict[str, tuple[str, ...]]:
    """Each service's direct dependencies in the org's merged graph. Without a provider the
    graph is merged without the simulator's edges (declared and label-discovered only)."""
    if topology is None:
        # Imported here: the topology service reads health, which reads predictions.
        from failcast.topology.service import org_graph

        graph = await org_graph(session, org_id, None)
    else:
        graph = await topology(session, org_id)
    return {
        name: tuple(d.target for d in graph.dependencies(name))
        for name in graph.services
        if graph.dependencies(name)
    }


async def services(session: AsyncSession, org_id: int) -> list[Service]:
    rows = await session.scalars(
        select(Service).where(Service.org_id == org_id).order_by(Service.name)
    )
    return list(rows)


async def load_fleet(
    session: AsyncSession,
    org_id: int,
    start_ms: int,
    end_ms: int,
    topology: TopologyProvider | None = None,
) -> FleetData:
    """Every service's metrics averaged onto the five-minute grid [start, end) (NaN when empty),
    with its dependencies from the org's merged graph (`dependencies`).

    A metric with several label sets is averaged over them.
    """
    start_ms -= start_ms % STEP_MS
    ts = np.arange(start_ms, end_ms, STEP_MS, dtype=np.int64)
    found = await services(session, org_id)
    deps = await dependencies(session, org_id, topology)
    fleet = FleetData(ts, {})
    if not found or ts.size == 0:
        return fleet
    names = {s.id: s.name for s in found}
    series = list(
        await session.execute(
            select(Series.id, Series.service_id, Series.metric).where(Series.org_id == org_id)
        )
    )
    points = await read_range(
        session, [int(r[0]) for r in series], start_ms, end_ms,
        step_ms=STEP_MS, agg=Aggregation.avg, limit=len(series) * len(ts) + 1,
    )  # fmt: skip
    sums: dict[tuple[int, str], np.ndarray] = {}
    counts: dict[tuple[int, str], np.ndarray] = {}
    for series_id, service_id, metric in series:
        key = (int(service_id), str(metric))
        total = sums.setdefault(key, np.zeros(len(ts)))
        count = counts.setdefault(key, np.zeros(len(ts)))
        for point in points.get(int(series_id), []):
            i = (point.ts - start_ms) // STEP_MS
            if 0 <= i < len(ts) and np.isfinite(point.value):
                total[i] += point.value
                count[i] += 1
    for service in found:
        fleet.services[service.name] = ServiceData(
            service.kind, {}, tuple(d for d in deps.get(service.name, ()) if d != service.name)
        )
    for (service_id, metric), total in sums.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(
                counts[(service_id, metric)] > 0, total / counts[(service_id, metric)], np.nan
            )
        fleet.services[names[service_id]].metrics[metric] = values
    declared = await declarations(session, org_id)
    for name, data in fleet.services.items():
        for metric in data.metrics:
            mine = declared.get((name, metric)) or declared.get(("", metric))
            if mine is not None:
                data.declared[metric] = mine
    return fleet


async def declarations(
    session: AsyncSession, org_id: int
) -> dict[tuple[str, str], tuple[str | None, float | None]]:
    """(service, metric) -> (role, limit) the org declared; service "" means every service."""
    rows = await session.scalars(
        select(MetricDeclaration).where(MetricDeclaration.org_id == org_id)
    )
    return {(r.service, r.metric): (r.role, r.limit_value) for r in rows}


async def declaration_rows(
    session: AsyncSession, org_id: int, seen: Visibility = EVERYTHING
) -> list[MetricDeclaration]:
    """The org's declarations: those of every service, and those of the services `seen`
    admits."""
    rows = await session.scalars(
        select(MetricDeclaration)
        .where(MetricDeclaration.org_id == org_id)
        .where(or_(MetricDeclaration.service == "", seen.where(MetricDeclaration.service)))
        .order_by(MetricDeclaration.metric, MetricDeclaration.service)
    )
    return list(rows)


async def declaration(
    session: AsyncSession, org_id: int, service: str, metric: str
) -> MetricDeclaration | None:
    row: MetricDeclaration | None = await session.scalar(
        select(MetricDeclaration).where(
            MetricDeclaration.org_id == org_id,
            MetricDeclaration.service == service,
            MetricDeclaration.metric == metric,
        )
    )
    return row


async def incidents(
    session: AsyncSession, org_id: int, start: datetime, end: datetime
) -> list[IncidentRecord]:
    """Incidents of the org starting in [start, end), as training labels."""
    rows = await session.execute(
        select(Incident, Service.name)
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.org_id == org_id, Incident.started_at >= start, Incident.started_at < end)
        .order_by(Incident.started_at)
    )
    out = []
    for incident, name in rows:
        began = incident.started_at.timestamp()
        ended = incident.ended_at.timestamp() if incident.ended_at is not None else began
        cause = incident.root_cause_service or name
        out.append(IncidentRecord(str(name), str(incident.type), began, ended, str(cause)))
    return out


async def versions(session: AsyncSession, org_id: int) -> list[ModelVersion]:
    rows = await session.scalars(
        select(ModelVersion)
        .where(ModelVersion.org_id == org_id)
        .order_by(ModelVersion.version.desc())
    )
    return list(rows)


async def get_version(session: AsyncSession, org_id: int, version: int) -> ModelVersion:
    """The org's version, or NotFound (another org's version reads as missing)."""
    row = await session.scalar(
        select(ModelVersion).where(ModelVersion.org_id == org_id, ModelVersion.version == version)
    )
    if row is None:
        raise NotFound(f"model version {version} not found")
    return row


async def with_status(
    session: AsyncSession, org_id: int, status: ModelStatus
) -> list[ModelVersion]:
    rows = await session.scalars(
        select(ModelVersion)
        .where(ModelVersion.org_id == org_id, ModelVersion.status == status.value)
        .order_by(ModelVersion.version.desc())
    )
    return list(rows)


async def next_version(session: AsyncSession, org_id: int) -> int:
    latest = await session.scalar(
        select(func.max(ModelVersion.version)).where(ModelVersion.org_id == org_id)
    )
    return int(latest or 0) + 1


async def org_ids_with_models(session: AsyncSession, status: ModelStatus) -> list[int]:
    rows = await session.scalars(
        select(ModelVersion.org_id).where(ModelVersion.status == status.value).distinct()
    )
    return sorted(int(r) for r in rows)


async def predictions(
    session: AsyncSession,
    org_id: int,
    *,
    service: str | None = None,
    matched: bool | None = None,
    horizon: int | None = None,
    shadow: bool = False,
    latest: bool = False,
    limit: int = 500,
    seen: Visibility = EVERYTHING,
) -> list[tuple[FailurePrediction, str, int]]:
    """(prediction, service name, model version) of the services `seen` admits, newest
    first."""
    statement = (
        select(FailurePrediction, Service.name, ModelVersion.version)
        .join(Service, Service.id == FailurePrediction.service_id)
        .join(ModelVersion, ModelVersion.id == FailurePrediction.model_version_id)
        .where(FailurePrediction.org_id == org_id, FailurePrediction.shadow == shadow)
        .where(seen.where(Service.name))
        .order_by(FailurePrediction.ts.desc(), Service.name, FailurePrediction.horizon_h)
        .limit(limit)
    )
    if service is not None:
        statement = statement.where(Service.name == service)
    if matched is not None:
        resolved = FailurePrediction.outcome.is_not(None)
        statement = statement.where(resolved if matched else FailurePrediction.outcome.is_(None))
    if horizon is not None:
        statement = statement.where(FailurePrediction.horizon_h == horizon)
    if latest:
        newest = (
            select(FailurePrediction.service_id, func.max(FailurePrediction.ts).label("ts"))
            .where(FailurePrediction.org_id == org_id, FailurePrediction.shadow == shadow)
            .group_by(FailurePrediction.service_id)
            .subquery()
        )
        statement = statement.join(
            newest,
            (newest.c.service_id == FailurePrediction.service_id)
            & (newest.c.ts == FailurePrediction.ts),
        )
    rows = await session.execute(statement)
    return [(p, str(name), int(v)) for p, name, v in rows]


async def unresolved(
    session: AsyncSession, org_id: int, now: datetime, limit: int = 5000
) -> Sequence[FailurePrediction]:
    """Predictions whose horizon has passed but whose outcome is not yet recorded."""
    rows = await session.scalars(
        select(FailurePrediction)
        .where(FailurePrediction.org_id == org_id, FailurePrediction.outcome.is_(None))
        .where(FailurePrediction.ts <= now)
        .order_by(FailurePrediction.ts)
        .limit(limit)
    )
    return [p for p in rows if p.ts.timestamp() + p.horizon_h * 3600 <= now.timestamp()]


async def paired(
    session: AsyncSession, org_id: int, candidate_id: int, active_id: int, limit: int = 20_000
) -> list[tuple[FailurePrediction, FailurePrediction]]:
    """Shadow predictions of the candidate next to the active model's for the same case."""
    rows = await session.scalars(
        select(FailurePrediction)
        .where(
            FailurePrediction.org_id == org_id,
            FailurePrediction.model_version_id.in_((candidate_id, active_id)),
        )
        .order_by(FailurePrediction.ts.desc())
        .limit(limit)
    )
    by_case: dict[tuple[int, datetime, int], dict[int, FailurePrediction]] = defaultdict(dict)
    for p in rows:
        by_case[(p.service_id, p.ts, p.horizon_h)][p.model_version_id] = p
    return [
        (case[candidate_id], case[active_id])
        for case in by_case.values()
        if candidate_id in case and active_id in case
    ]


def window(start_ms: int, end_ms: int) -> tuple[datetime, datetime]:
    return ms_to_datetime(start_ms), ms_to_datetime(end_ms)
