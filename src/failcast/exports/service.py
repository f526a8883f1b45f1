"""What each export kind holds, read from the store in chunks along a keyset.

Every kind yields plain rows (dicts) with time-zone-aware UTC datetimes; `formats` turns them
into bytes. Reads go in chunks of `chunk` rows ordered by a unique key, so a range of any size
streams in bounded memory and each chunk is one short query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.models import (
    Alert,
    FailurePrediction,
    Incident,
    ModelVersion,
    Series,
    Service,
)
from failcast.store import chunks as sample_chunks
from failcast.store.samples import SERIES_PER_READ
from failcast.teams.service import EVERYTHING, Visibility
from failcast.timeutil import ms_to_datetime

Row = dict[str, Any]
CHUNK = 5_000


class Kind(StrEnum):
    metrics = "metrics"
    alerts = "alerts"
    incidents = "incidents"
    predictions = "predictions"


COLUMNS: dict[Kind, tuple[str, ...]] = {
    Kind.metrics: ("service", "metric", "labels", "ts", "value"),
    Kind.alerts: (
        "id", "service", "title", "severity", "state", "started_at", "fired_at",
        "acknowledged_at", "resolved_at", "value", "labels",
    ),
    Kind.incidents: (
        "id", "service", "type", "source", "title", "started_at", "ended_at",
        "root_cause_service",
    ),
    Kind.predictions: (
        "id", "service", "ts", "horizon_hours", "probability", "alarm", "incident_type",
        "confidence", "risk_level", "outcome", "model_version", "shadow",
    ),
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Query:
    """One export: whose, what, over [start, end), optionally one service or metric, of the
    services `seen` admits."""

    org_id: int
    kind: Kind
    start_ms: int
    end_ms: int
    service: str | None = None
    metric: str | None = None
    seen: Visibility = EVERYTHING

    @property
    def start(self) -> datetime:
        return ms_to_datetime(self.start_ms)

    @property
    def end(self) -> datetime:
        return ms_to_datetime(self.end_ms)


@dataclass(frozen=True, slots=True)
class _Point:
    series_id: int
    ts: int
    value: float
    metric: str
    labels: Any
    name: str


async def _metrics(session: AsyncSession, q: Query, after: Any, chunk: int) -> list[Any]:
    """The next `chunk` samples in (series, time) order after `after`, head and chunks merged."""
    statement = (
        select(Series.id, Series.metric, Series.labels, Service.name)
        .join(Service, Service.id == Series.service_id)
        .where(Series.org_id == q.org_id)
        .where(q.seen.where(Service.name))
    )
    if q.service is not None:
        statement = statement.where(Service.name == q.service)
    if q.metric is not None:
        statement = statement.where(Series.metric == q.metric)
    if after is not None:
        statement = statement.where(Series.id >= after[0])
    series = (await session.execute(statement.order_by(Series.id))).all()
    found: list[Any] = []
    for k in range(0, len(series), SERIES_PER_READ):
        group = series[k : k + SERIES_PER_READ]
        start = q.start_ms
        if after is not None and group[0].id == after[0]:
            # The series the previous page stopped in is read from where it stopped.
            first = await sample_chunks.read_points(
                session, [group[0].id], max(start, after[1] + 1), q.end_ms
            )
            points = first | await sample_chunks.read_points(
                session, [s.id for s in group[1:]], start, q.end_ms
            )
        else:
            points = await sample_chunks.read_points(
                session, [s.id for s in group], start, q.end_ms
            )
        for s in group:
            ts, values = points[s.id]
            take = chunk - len(found)
            found.extend(
                _Point(s.id, t, v, s.metric, s.labels, s.name)
                for t, v in zip(ts[:take].tolist(), values[:take].tolist(), strict=True)
            )
            if len(found) >= chunk:
                return found
    return found


def _metric_row(r: Any) -> Row:
    return {
        "service": r.name,
        "metric": r.metric,
        "labels": r.labels,
        "ts": ms_to_datetime(r.ts),
        "value": r.value,
    }


def _by_id(statement: Any, id_column: Any, after: Any, chunk: int) -> Any:
    if after is not None:
        statement = statement.where(id_column > after)
    return statement.order_by(id_column).limit(chunk)


async def _alerts(session: AsyncSession, q: Query, after: Any, chunk: int) -> list[Any]:
    statement = select(Alert).where(
        Alert.org_id == q.org_id,
        Alert.started_at >= q.start,
        Alert.started_at < q.end,
        q.seen.where(Alert.service),
    )
    if q.service is not None:
        statement = statement.where(Alert.service == q.service)
    return list(await session.scalars(_by_id(statement, Alert.id, after, chunk)))


def _alert_row(a: Alert) -> Row:
    return {
        "id": a.id, "service": a.service, "title": a.title, "severity": a.severity,
        "state": a.state, "started_at": a.started_at, "fired_at": a.fired_at,
        "acknowledged_at": a.acknowledged_at, "resolved_at": a.resolved_at, "value": a.value,
        "labels": a.labels,
    }  # fmt: skip


async def _incidents(session: AsyncSession, q: Query, after: Any, chunk: int) -> list[Any]:
    statement = (
        select(Incident, Service.name)
        .join(Service, Service.id == Incident.service_id)
        .where(
            Incident.org_id == q.org_id,
            Incident.started_at >= q.start,
            Incident.started_at < q.end,
            q.seen.where(Service.name),
        )
    )
    if q.service is not None:
        statement = statement.where(Service.name == q.service)
    return list((await session.execute(_by_id(statement, Incident.id, after, chunk))).all())


def _incident_row(r: Any) -> Row:
    i: Incident = r[0]
    return {
        "id": i.id, "service": r[1], "type": i.type, "source": i.source, "title": i.title,
        "started_at": i.started_at, "ended_at": i.ended_at,
        "root_cause_service": i.root_cause_service,
    }  # fmt: skip


async def _predictions(session: AsyncSession, q: Query, after: Any, chunk: int) -> list[Any]:
    statement = (
        select(FailurePrediction, Service.name, ModelVersion.version)
        .join(Service, Service.id == FailurePrediction.service_id)
        .join(ModelVersion, ModelVersion.id == FailurePrediction.model_version_id)
        .where(
            FailurePrediction.org_id == q.org_id,
            FailurePrediction.ts >= q.start,
            FailurePrediction.ts < q.end,
            q.seen.where(Service.name),
        )
    )
    if q.service is not None:
        statement = statement.where(Service.name == q.service)
    statement = _by_id(statement, FailurePrediction.id, after, chunk)
    return list((await session.execute(statement)).all())


def _prediction_row(r: Any) -> Row:
    p: FailurePrediction = r[0]
    return {
        "id": p.id, "service": r[1], "ts": p.ts, "horizon_hours": p.horizon_h,
        "probability": p.probability, "alarm": p.alarm, "incident_type": p.incident_type,
        "confidence": p.confidence, "risk_level": p.risk_level, "outcome": p.outcome,
        "model_version": r[2], "shadow": p.shadow,
    }  # fmt: skip


def _key(kind: Kind, last: Any) -> Any:
    if kind is Kind.metrics:
        return (last.series_id, last.ts)
    if kind is Kind.alerts:
        return last.id
    return last[0].id


_READ = {
    Kind.metrics: (_metrics, _metric_row),
    Kind.alerts: (_alerts, _alert_row),
    Kind.incidents: (_incidents, _incident_row),
    Kind.predictions: (_predictions, _prediction_row),
}


async def chunks(database: Database, q: Query, chunk: int = CHUNK) -> AsyncIterator[list[Row]]:
    """The export's rows, `chunk` at a time, each chunk read in its own short session."""
    read, shape = _READ[q.kind]
    after: Any = None
    while True:
        async with session_scope(database) as session:
            found = await read(session, q, after, chunk)
        if not found:
            return
        yield [shape(r) for r in found]
        if len(found) < chunk:
            return
        after = _key(q.kind, found[-1])
