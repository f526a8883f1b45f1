"""Response bodies of the detection API."""

from __future__ import annotations

from datetime import datetime

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
