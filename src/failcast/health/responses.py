"""Bodies the health and risk API answers with."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from failcast.health.config import Component, MetricName, Threshold
from failcast.health.risk import RiskSignal
from failcast.health.score import ComponentScore, SkippedComponent
from failcast.health.service import ServiceSnapshot, formula
from failcast.models.service import ServiceKindName
from failcast.predict.risk import RiskLevel

Status = Literal["ok", "warning", "critical", "unknown"]


class HealthInputOut(BaseModel):
    """A health metric's value and the stored metric it was read from."""

    metric: MetricName
    value: float
    source: str


class ServiceHealthOut(BaseModel):
    """A service's 0-100 score with its components, status and explanation."""

    id: int
    service: str
    kind: ServiceKindName
    tier: int
    score: float | None
    status: Status
    # The components' weighted mean; above `score` when the status caps it (a warning service
    # scores at most 79, a critical one at most 59).
    weighted_mean: float | None
    components: list[ComponentScore]
    skipped: list[SkippedComponent]
    explanation: list[str]
    inputs: list[HealthInputOut]

    @classmethod
    def of(cls, snapshot: ServiceSnapshot) -> ServiceHealthOut:
        health = snapshot.health
        return cls(
            id=snapshot.id,
            service=snapshot.name,
            kind=snapshot.kind,
            tier=snapshot.tier,
            score=health.score,
            status=health.status,
            weighted_mean=health.weighted_mean,
            components=health.components,
            skipped=health.skipped,
            explanation=health.explain(),
            inputs=[
                HealthInputOut(metric=i.metric, value=i.value, source=i.source)
                for i in snapshot.inputs.values()
            ],
        )


class ServiceHealthDetail(ServiceHealthOut):
    """One service's health with the whole calculation: inputs, resolved weights and
    thresholds, and the weighted mean written out."""

    at: datetime
    window_seconds: float
    formula: str
    weights: dict[Component, float]
    thresholds: dict[MetricName, Threshold]
    stored_means: dict[str, float]

    @classmethod
    def detail(
        cls,
        snapshot: ServiceSnapshot,
        at: datetime,
        window_seconds: float,
        weights: dict[Component, float],
        thresholds: dict[MetricName, Threshold],
    ) -> ServiceHealthDetail:
        return cls(
            **ServiceHealthOut.of(snapshot).model_dump(),
            at=at,
            window_seconds=window_seconds,
            formula=formula(snapshot.health),
            weights=weights,
            thresholds=thresholds,
            stored_means=snapshot.means,
        )


class HealthList(BaseModel):
    at: datetime
    window_seconds: float
    services: list[ServiceHealthOut]


class ServiceRiskLevel(BaseModel):
    service: str
    level: RiskLevel


class OrgHealthOut(BaseModel):
    """The org's score, its parts, the executive summary and each service's risk level."""

    at: datetime
    window_seconds: float
    score: float | None
    status: Status
    mean: float | None
    penalty: float
    counts: dict[str, int]
    explanation: str
    summary: str
    risks: list[ServiceRiskLevel]
    services: list[ServiceHealthOut]


class SloBurnOut(BaseModel):
    id: int
    name: str
    severity: Literal["page", "ticket", "none"]
    budget_remaining: float
    burn_rate_1h: float


class ServiceRiskOut(BaseModel):
    """One service's risk with the evidence behind it."""

    id: int
    service: str
    level: RiskLevel
    corroborated: bool
    signals: list[RiskSignal]
    health_score: float | None
    health_status: Status
    failure_probability: dict[int, float] | None  # by horizon in hours: 24, 48, 72
    predicted_at: datetime | None
    slos: list[SloBurnOut]


class RiskOut(BaseModel):
    """Risk of every service, worst first, with the org's executive summary."""

    at: datetime
    summary: str
    predictions: str  # "available" or "no predictions yet"
    services: list[ServiceRiskOut]
