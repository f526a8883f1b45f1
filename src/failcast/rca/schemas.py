"""API shapes of a root-cause analysis."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from failcast.kit.names import SERVICE_PATTERN


class RcaIn(BaseModel):
    """A symptom (a service, optionally one of its metrics) and when it was seen."""

    service: str = Field(
        min_length=1, max_length=128, pattern=SERVICE_PATTERN,
        description="The service where the symptom was seen, e.g. `frontend`.",
    )  # fmt: skip
    metric: str | None = Field(
        default=None, min_length=1, max_length=200,
        description="The metric that went wrong, e.g. `latency_p99_ms`; any when omitted.",
    )  # fmt: skip
    at: datetime = Field(description="When the symptom was seen (RFC 3339 with a time zone).")
    before_minutes: float = Field(
        default=5.0, ge=0, le=24 * 60, description="The window starts this long before `at`."
    )
    after_minutes: float = Field(
        default=10.0, ge=0, le=24 * 60, description="The window ends this long after `at`."
    )
    normal_minutes: float = Field(
        default=60.0, gt=0, le=7 * 24 * 60,
        description="How much history before the window is the normal period to learn from.",
    )  # fmt: skip


class MetricReading(BaseModel):
    metric: str
    role: str = Field(description="resource, errors, latency, traffic or other (from the name)")
    score: float = Field(description="0..1: how unusual the metric is in the window")
    z: float | None = Field(description="robust z-score of the window against the normal period")
    value: float | None = Field(description="median value in the window")
    normal: float | None = Field(description="median value in the normal period")


class CandidateOut(BaseModel):
    service: str
    metric: str | None = Field(description="the metric that points to this service")
    score: float = Field(description="0..1 after the graph stage; higher is more likely")
    evidence: str = Field(description="why, in one sentence")
    anomaly: float = Field(description="0..1: the service's own anomaly before the graph stage")
    explained_by: str | None = Field(description="the anomalous dependency that discounts it")
    in_cone: bool = Field(description="whether the symptom depends on it (or it is the symptom)")
    hops: int | None = Field(description="dependency hops from the symptom; null outside")
    onset: datetime | None = Field(description="when its strongest anomaly began")
    metrics: list[MetricReading]


class RcaOut(BaseModel):
    verdict: Literal["root_cause", "inconclusive"] = Field(
        description="root_cause when the top candidate stands out; else inconclusive"
    )
    reason: str
    service: str = Field(description="the symptom's service")
    metric: str | None
    at: datetime
    window_start: datetime
    window_end: datetime
    normal_start: datetime | None
    normal_end: datetime | None
    topology: str = Field(
        description="where the call graph came from: declared, simulated, catalog"
    )
    close: list[str] = Field(
        description="with an inconclusive verdict: the services too close to tell apart"
    )
    unjudged: list[str] = Field(description="services with no samples that could be judged")
    candidates: list[CandidateOut] = Field(description="best first, at most ten")
