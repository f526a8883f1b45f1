"""Request and response bodies of the prediction API."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from failcast.kit.names import SERVICE_PATTERN
from failcast.models import ModelSource, TrainingSource

# The roles of `detect.roles.ROLES` (a test keeps the two equal).
Role = Literal[
    "latency", "errors", "availability", "saturation", "cpu", "memory", "disk", "throughput",
    "cost", "quality", "other",
]  # fmt: skip


class PredictIn(BaseModel):
    """Either a service (scored from its stored metrics) or a hand-made feature row."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(default=None, min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    features: dict[str, float] | None = Field(default=None, min_length=1, max_length=5000)

    @field_validator("features")
    @classmethod
    def _finite(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            bad = sorted(k for k, v in value.items() if not math.isfinite(v))
            if bad:
                raise ValueError(f"must be finite numbers: {', '.join(bad)}")
        return value

    @model_validator(mode="after")
    def _one_of(self) -> PredictIn:
        if (self.service is None) == (self.features is None):
            raise ValueError("give exactly one of 'service' or 'features'")
        return self


class FactorOut(BaseModel):
    """One feature's push on the failure probability, as a sentence and a number."""

    model_config = ConfigDict(from_attributes=True)

    feature: str
    metric: str | None
    value: float | None
    contribution: float = Field(description="Push on the failure log-odds (xgboost pred_contribs).")
    statement: str


class CauseCandidateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    service: str
    score: float
    evidence: float = Field(description="How anomalous the service's own metrics were, 0-1.")
    explained_by: str | None = Field(
        description="The anomalous dependency that discounts this candidate, if any."
    )
    metrics: list[str] = Field(description="The metrics that carried its score, strongest first.")


class RootCauseOut(BaseModel):
    """The root-cause verdict behind a prediction: the service (and metric) most likely
    driving it, from the service topology and each service's recent anomalies."""

    model_config = ConfigDict(from_attributes=True)

    verdict: Literal["conclusive", "inconclusive"]
    service: str | None = Field(description="The likeliest cause; None when inconclusive.")
    metric: str | None
    margin: float = Field(description="The top candidate's lead over the next one.")
    reason: str
    summary: str
    candidates: list[CauseCandidateOut]


class HorizonOut(BaseModel):
    hours: int
    probability: float
    alarm: bool
    threshold: float
    factors: list[FactorOut]


class PredictOut(BaseModel):
    service: str | None
    ts: datetime | None
    model_version: int
    horizons: list[HorizonOut]
    probabilities: dict[str, float]
    risk_level: str
    incident_type: str = Field(
        description=(
            "The likeliest type of the coming incident, or `unknown` when the type classifier's"
            " probability for it is below 0.6."
        )
    )
    confidence: float = Field(description="The type classifier's probability for incident_type.")
    root_cause: RootCauseOut | None
    members: list[str]
    lstm: str


class PredictionOut(BaseModel):
    id: int
    service: str
    ts: datetime
    horizon_hours: int
    probability: float
    alarm: bool
    failure_type: str
    confidence: float
    risk_level: str
    model_version: int
    shadow: bool
    factors: list[FactorOut]
    root_cause: RootCauseOut | None
    matched: bool = Field(description="Whether the horizon has passed and the outcome is known.")
    outcome: bool | None = Field(description="Whether an incident started within the horizon.")
    correct: bool | None


class PredictionList(BaseModel):
    items: list[PredictionOut]


class ModelOut(BaseModel):
    id: int = Field(description="The version number (versions are numbered per organisation).")
    version: int
    name: str = "failure"
    status: str
    stage: str = Field(description="production, shadow or retired (the status in other words).")
    source: ModelSource
    horizons: list[int]
    features: int
    train_start: datetime
    train_end: datetime
    created_at: datetime
    promoted_at: datetime | None
    retired_at: datetime | None
    metrics: dict[str, Any] = Field(description="Headline 24 h figures on the held-out test split.")
    members: list[str]
    lstm: str
    reliability: list[list[float]]
    gate: dict[str, Any] | None = Field(
        default=None,
        description=(
            "The promotion gate's verdict: passed, the reasons it failed, and the figures it"
            " judged (AUC-PR and Brier skill at 24 h against climatology and the active model)."
        ),
    )
    forced_by: str | None = Field(
        default=None, description="Who promoted this version past a failed gate."
    )
    forced_reason: str | None = Field(default=None, description="Why it was forced.")
    forced_at: datetime | None = None


class PromoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    force: bool = Field(
        default=False,
        description="Promote even though the version fails the promotion gate (needs a reason).",
    )
    reason: str | None = Field(
        default=None, min_length=1, max_length=2000, description="Why the gate is overridden."
    )


class ModelDetail(ModelOut):
    figures: dict[str, Any] = Field(description="Validation and test figures per horizon.")
    thresholds: dict[str, float]
    incident_types: list[str]
    feature_names: list[str]
    shadow: dict[str, Any] | None = Field(
        description="A candidate's shadow predictions against the active model's."
    )


class ModelList(BaseModel):
    items: list[ModelOut]


# Simulated history is generated in memory before training: a bound keeps that affordable.
MAX_SIMULATED_DAYS = 120


class TrainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: TrainingSource | None = Field(
        default=None,
        description=(
            "Where the training data comes from. `database`: the org's stored metrics and"
            " incidents over the last `days`. `simulator`: history of the simulated fleet,"
            " generated for the occasion, for an org that runs the simulated fleet and has no"
            " history of its own yet. Default: `database`."
        ),
    )
    days: int | None = Field(
        default=None,
        ge=3,
        le=365,
        description="Days of history to train on (default 60 from the database, 30 simulated).",
    )

    @model_validator(mode="after")
    def _simulated_days(self) -> TrainIn:
        if self.source == "simulator" and self.days is not None and self.days > MAX_SIMULATED_DAYS:
            raise ValueError(f"simulated history is at most {MAX_SIMULATED_DAYS} days")
        return self


class TrainAccepted(BaseModel):
    status: str
    source: TrainingSource = Field(
        description="Where the training data comes from: database or simulator."
    )
    days: int = Field(description="Days of history the new version trains on.")
    job_id: int = Field(description="Follow it at GET /api/v1/training-jobs/{job_id}.")


class MetricRoleIn(BaseModel):
    """What a metric is, in place of what its name suggests."""

    model_config = ConfigDict(extra="forbid")

    metric: str = Field(min_length=1, max_length=200)
    service: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=SERVICE_PATTERN,
        description="Only this service's metric (default: the metric of every service).",
    )
    role: Role | None = Field(default=None, description="What the metric measures.")
    limit: float | None = Field(
        default=None,
        description=(
            "The value at which the service breaks (for a counter: of its per-second rate),"
            " e.g. a container's memory limit in bytes."
        ),
    )

    @field_validator("limit")
    @classmethod
    def _usable(cls, value: float | None) -> float | None:
        if value is not None and (not math.isfinite(value) or value == 0):
            raise ValueError("must be a finite number other than 0")
        return value


class MetricRoleOut(BaseModel):
    metric: str
    service: str | None
    role: str | None
    limit: float | None
    read_as: dict[str, Any] = Field(
        description="How prediction reads the metric with this declaration: role, direction"
        " (1: rising is bad, -1: falling is bad, 0: either), counter, limit."
    )


class MetricRoleList(BaseModel):
    items: list[MetricRoleOut]
    roles: list[str] = Field(description="The roles a metric can have.")
