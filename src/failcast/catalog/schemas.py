from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from failcast.kit.names import SERVICE_PATTERN
from failcast.models.service import ServiceKind


class ServiceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: ServiceKind
    team: str | None
    tier: int | None
    owner: str | None
    description: str
    created_at: datetime


class ServiceDetail(ServiceOut):
    metrics: list[str] = Field(description="Metric names that have series for this service.")
    series_count: int
    last_sample_at: datetime | None


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    kind: ServiceKind = ServiceKind.microservice
    team: str | None = Field(default=None, max_length=128)
    tier: int | None = Field(default=None, ge=0, le=5)
    owner: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=1000)


class ServicePatch(BaseModel):
    """Fields left out stay as they are; `team`, `tier` and `owner` may be cleared with null,
    `kind` and `description` may not (a service always has them)."""

    model_config = ConfigDict(extra="forbid")

    # Typed without None so that an explicit null is a 422; the None default only means
    # "left out", and `exclude_unset` keeps it out of the update.
    kind: ServiceKind = Field(default=None)  # type: ignore[assignment]
    team: str | None = Field(default=None, max_length=128)
    tier: int | None = Field(default=None, ge=0, le=5)
    owner: str | None = Field(default=None, max_length=200)
    description: str = Field(default=None, max_length=1000)  # type: ignore[assignment]
