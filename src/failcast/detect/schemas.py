"""Response bodies of the detection API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Window(BaseModel):
    start: datetime
    end: datetime


class FeatureDriftOut(BaseModel):
    feature: str
    source: str = Field(description="reported (a drift metric as sent), prediction or features")
    severity: float = Field(description="largest effect size over its threshold; 1 = threshold")
    drifted: bool
    psi: float | None
    ks: float | None
    ks_pvalue: float | None
    wasserstein: float | None
    jensen_shannon: float | None
    n_reference: int
    n_current: int


class DriftOut(BaseModel):
    service: str
    reference: Window
    current: Window
    features: list[FeatureDriftOut]


class ForecastPointOut(BaseModel):
    ts: datetime
    value: float
    low: float
    high: float


class BreachOut(BaseModel):
    hours: float
    low_hours: float
    high_hours: float | None = Field(description="null: the slow end lies beyond the horizon")
    at: datetime
    summary: str


class ForecastOut(BaseModel):
    service: str
    metric: str
    labels: dict[str, str]
    threshold: float
    direction: str
    coverage: float = 0.8
    history: list[tuple[datetime, float]]
    forecast: list[ForecastPointOut]
    breach: BreachOut | None


class DetectorOut(BaseModel):
    name: str = Field(description="What `--detector` and `detector` select.")
    summary: str
    default: bool = Field(description="The configuration used when none is named.")
    single: dict[str, Any] | None = Field(description="Detector spec for one metric, or null.")
    vector: dict[str, Any] | None = Field(
        description="Detector spec for a vector of metrics, or null."
    )


class DetectorsOut(BaseModel):
    threshold: float = Field(description="The documented alarm threshold on every score.")
    detectors: list[DetectorOut]


class TrainIn(BaseModel):
    timestamps: list[float | str] = Field(max_length=200_000)
    values: list[float | None] | list[list[float | None]] = Field(max_length=200_000)


class ScoreIn(BaseModel):
    """Values to score in time order, causally: each row against the rows before it."""

    detector: str = Field(default="default", max_length=100)
    params: dict[str, Any] = Field(
        default_factory=dict, description="Overrides of the detector's parameters."
    )
    metrics: list[str] | None = Field(
        default=None, max_length=200, description="Column names; m1, m2, ... when absent."
    )
    timestamps: list[float | str] = Field(
        min_length=1, max_length=100_000, description="RFC 3339 or Unix seconds, increasing."
    )
    values: list[float | None] | list[list[float | None]] = Field(
        min_length=1,
        max_length=100_000,
        description="One value per timestamp, or one row of metric values; null is missing.",
    )
    train: TrainIn | None = Field(default=None, description="History learned first, not scored.")


class ScorePointOut(BaseModel):
    ts: datetime
    score: float | None = Field(description="Anomaly score in [0, 1); null when there is none.")
    change: float | None = Field(description="Level-shift score in [0, 1); null likewise.")
    status: str = Field(description="scored, warming_up, constant, missing or no_score")
    reason: str | None = Field(description="Why there is no score, when there is none.")
    drivers: list[str] = Field(
        default_factory=list, description="Metrics behind the score, most surprising first."
    )


class MetricStatusOut(BaseModel):
    metric: str
    status: str = Field(description="The metric's status at the last row.")
    scored: int = Field(description="Rows in which the metric took part.")
    counts: dict[str, int] = Field(description="Rows per status.")


class ScoreOut(BaseModel):
    detector: str
    spec: dict[str, Any] = Field(description="The detector and parameters that ran.")
    threshold: float
    alarms: int = Field(description="Rows at or above the threshold.")
    points: list[ScorePointOut]
    metrics: list[MetricStatusOut] = Field(
        default_factory=list, description="For several metrics: how each took part."
    )


class ChoiceIn(BaseModel):
    service: str = Field(max_length=128)
    metric: str = Field(max_length=200)
    detector: str = Field(max_length=100)
    params: dict[str, Any] = Field(default_factory=dict)


class LiveSeriesOut(BaseModel):
    service: str
    metric: str
    labels: dict[str, str]
    detector: str = Field(description="The configuration live scoring uses for this series.")
    chosen: bool = Field(description="Chosen for this metric rather than the default.")
    points: int = Field(description="Points scored so far.")
    status: str = Field(description="not_started, warming_up, constant or scored")
    reason: str | None
    warmup: int | None = Field(description="Points needed before the first score.")
