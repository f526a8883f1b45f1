from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from failcast.kit.names import NAME_PATTERN, SERVICE_PATTERN

Outcome = float | str | bool


class ScrapeTargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    url: AnyHttpUrl = Field(description="The exposition endpoint, e.g. http://host:9100/metrics.")
    interval: float = Field(default=60.0, ge=1.0, le=86_400.0, description="Seconds.")
    timeout: float = Field(default=10.0, gt=0.0, le=300.0, description="Seconds.")
    labels: dict[str, str] = Field(default_factory=dict, description="Added to every sample.")
    enabled: bool = True

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        import re

        for name in labels:
            if not re.match(NAME_PATTERN, name):
                raise ValueError(f"label name {name!r} must match {NAME_PATTERN}")
        return labels


class ScrapeTargetPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(default=None, min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    interval: float | None = Field(default=None, ge=1.0, le=86_400.0)
    timeout: float | None = Field(default=None, gt=0.0, le=300.0)
    labels: dict[str, str] | None = None
    enabled: bool | None = None


class ScrapeTargetOut(BaseModel):
    id: int
    service: str
    url: str
    interval: float
    timeout: float
    labels: dict[str, str]
    enabled: bool
    created_at: datetime
    up: bool | None = Field(description="Whether the last scrape succeeded; null before the first.")
    last_scrape_at: datetime | None
    last_duration_seconds: float | None
    last_samples: int | None
    last_error: str | None
    next_scrape_at: datetime


class PredictionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(min_length=1, max_length=200)
    features: dict[str, Any] = Field(default_factory=dict)
    prediction: Outcome
    ts: float | None = Field(
        default=None, description="Unix seconds within the ingest window; default: now."
    )


class PredictionBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    predictions: list[PredictionIn] = Field(min_length=1, max_length=10_000)


class LabelIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(min_length=1, max_length=200)
    label: Outcome
    ts: float | None = Field(
        default=None, description="Unix seconds within the ingest window; default: now."
    )


class LabelBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    labels: list[LabelIn] = Field(min_length=1, max_length=10_000)


class MlResult(BaseModel):
    accepted: int = Field(description="Events stored; a re-sent prediction id is not stored twice.")
    joined: int = Field(description="Predictions that now have their label.")
    accuracy: float | None = Field(
        description="Rolling accuracy over the newest labelled predictions, when any are joined."
    )
