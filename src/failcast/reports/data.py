"""Everything a reliability report shows, gathered from the store for one org and period (and,
for a member restricted to their teams' services, over those services only)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.health import score_org
from failcast.health.service import fleet_health, org_risk
from failcast.models import Alert, FailurePrediction, Incident, Organization, Service
from failcast.predict.risk import LEVELS
from failcast.teams.service import EVERYTHING, Visibility
from failcast.timeutil import ms_to_datetime

TREND_POINTS = 28
TOP_RISKS = 5


@dataclass(frozen=True, slots=True)
class IncidentLine:
    service: str
    type: str
    title: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def minutes(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class SloLine:
    name: str
    service: str
    objective: float
    sli: float | None
    budget_remaining: float | None
    state: str  # met, breached, no data, unresolved


@dataclass(frozen=True, slots=True)
class PredictionScore:
    """Predictions whose horizon has passed, against what happened, for one horizon."""

    horizon_hours: int
    judged: int
    alarms: int
    hits: int
    false_alarms: int
    missed: int
    brier: float

    @property
    def precision(self) -> float | None:
        return self.hits / self.alarms if self.alarms else None

    @property
    def recall(self) -> float | None:
        happened = self.hits + self.missed
        return self.hits / happened if happened else None


@dataclass(frozen=True, slots=True)
class RiskLine:
    service: str
    level: str
    reasons: list[str]


@dataclass
class ReportData:
    org_name: str
    plan: str
    start: datetime
    end: datetime
    summary: str
    health_now: float | None
    health_status: str
    trend: list[tuple[datetime, float | None]]
    incidents: list[IncidentLine]
    alerts_by_severity: dict[str, int]
    slos: list[SloLine]
    predictions: list[PredictionScore]
    risks: list[RiskLine]
    services: int
    generated_at: datetime
    notes: list[str] = field(default_factory=list)

    @property
    def mttr_minutes(self) -> float | None:
        durations = [i.minutes for i in self.incidents if i.minutes is not None]
        return sum(durations) / len(durations) if durations else None

    def incidents_by_type(self) -> dict[str, int]:
        return dict(Counter(i.type for i in self.incidents).most_common())


async def _trend(
    session: AsyncSession, org_id: int, start_ms: int, end_ms: int, seen: Visibility
) -> list[tuple[datetime, float | None]]:
    """Org health at evenly spaced instants, each from the metric means of its own step."""
    step = max(60_000, (end_ms - start_ms) // TREND_POINTS)
    points = []
    at = start_ms + step
    while at <= end_ms:
        fleet = await fleet_health(session, org_id, at, step, seen=seen)
        org = score_org([s.health for s in fleet.services], fleet.config)
        points.append((ms_to_datetime(at), org.score))
        at += step
    return points


async def _incidents(
    session: AsyncSession, org_id: int, start: datetime, end: datetime, seen: Visibility
) -> list[IncidentLine]:
    rows = await session.execute(
        select(Incident, Service.name)
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.org_id == org_id, Incident.started_at >= start, Incident.started_at < end)
        .where(seen.where(Service.name))
        .order_by(Incident.started_at)
    )
    return [IncidentLine(name, i.type, i.title, i.started_at, i.ended_at) for i, name in rows.all()]


async def _alerts(
    session: AsyncSession, org_id: int, start: datetime, end: datetime, seen: Visibility
) -> dict[str, int]:
    rows = await session.execute(
        select(Alert.severity, func.count())
        .where(Alert.org_id == org_id, Alert.fired_at >= start, Alert.fired_at < end)
        .where(seen.where(Alert.service))
        .group_by(Alert.severity)
    )
    return {str(severity): int(n) for severity, n in rows.all()}


async def _predictions(
    session: AsyncSession, org_id: int, start: datetime, end: datetime, seen: Visibility
) -> list[PredictionScore]:
    rows = await session.execute(
        select(
            FailurePrediction.horizon_h, FailurePrediction.alarm,
            FailurePrediction.outcome, FailurePrediction.probability,
        ).where(
            FailurePrediction.org_id == org_id, FailurePrediction.shadow.is_(False),
            FailurePrediction.outcome.is_not(None),
            FailurePrediction.ts >= start, FailurePrediction.ts < end,
            seen.where_id(FailurePrediction.service_id),
        )
    )  # fmt: skip
    by_horizon: dict[int, list[tuple[bool, bool, float]]] = {}
    for horizon, alarm, outcome, probability in rows.all():
        by_horizon.setdefault(int(horizon), []).append((bool(alarm), bool(outcome), probability))
    scores = []
    for horizon, items in sorted(by_horizon.items()):
        scores.append(
            PredictionScore(
                horizon_hours=horizon,
                judged=len(items),
                alarms=sum(a for a, _, _ in items),
                hits=sum(a and o for a, o, _ in items),
                false_alarms=sum(a and not o for a, o, _ in items),
                missed=sum(o and not a for a, o, _ in items),
                brier=sum((p - o) ** 2 for _, o, p in items) / len(items),
            )
        )
    return scores


async def gather(
    session: AsyncSession,
    org_id: int,
    start_ms: int,
    end_ms: int,
    now: datetime,
    seen: Visibility = EVERYTHING,
) -> ReportData:
    """The report's figures for [start, end) about the services `seen` admits; health, SLOs
    and risks are as of `end`."""
    org = await session.get(Organization, org_id)
    assert org is not None
    start, end = ms_to_datetime(start_ms), ms_to_datetime(end_ms)
    risk = await org_risk(session, org_id, end_ms, seen=seen)
    slos = []
    for evaluation in risk.slos:
        status = evaluation.status
        if evaluation.data != "ok" or status is None:
            state = "no data" if evaluation.data == "no_data" else "unresolved"
            slos.append(SloLine(evaluation.slo.name, evaluation.slo.service,
                                evaluation.slo.objective, None, None, state))  # fmt: skip
            continue
        sli = status.budget.sli
        met = sli is not None and sli >= evaluation.slo.objective
        state = "met" if met else "breached"
        slo = evaluation.slo
        slos.append(
            SloLine(slo.name, slo.service, slo.objective, sli, status.budget.remaining, state)
        )
    serious = sorted(
        (r for r in risk.risks if r.level != "low"),
        key=lambda r: (-LEVELS.index(r.level), r.service),
    )
    return ReportData(
        org_name=org.name,
        plan=org.plan,
        start=start,
        end=end,
        summary=risk.summary,
        health_now=risk.org.score,
        health_status=risk.org.status,
        trend=await _trend(session, org_id, start_ms, end_ms, seen),
        incidents=await _incidents(session, org_id, start, end, seen),
        alerts_by_severity=await _alerts(session, org_id, start, end, seen),
        slos=slos,
        predictions=await _predictions(session, org_id, start, end, seen),
        risks=[RiskLine(r.service, r.level, r.reasons()) for r in serious[:TOP_RISKS]],
        services=len(risk.fleet.services),
        generated_at=now,
    )
