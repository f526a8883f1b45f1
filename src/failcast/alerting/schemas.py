"""API shapes of rules, alerts, silences, maintenance windows, playbooks and incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from failcast.kit.durations import Duration
from failcast.kit.matchers import parse_matcher
from failcast.kit.names import SERVICE_PATTERN
from failcast.models.alert import AlertState as AlertState
from failcast.models.incident import IncidentType


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    severity: str
    enabled: bool
    spec: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RuleImportResult(BaseModel):
    created: list[str]
    updated: list[str]


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    actor: str | None
    message: str
    data: dict[str, Any]


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule_id: int | None
    fingerprint: str
    state: AlertState
    severity: str
    service: str | None
    title: str
    labels: dict[str, str]
    value: float | None
    started_at: datetime
    fired_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    assignee: str | None
    flapping: bool
    suppressed_by: str | None
    incident_id: int | None
    context: dict[str, Any] = Field(
        description="what fired and why, time to impact, factors, recommendations, MTTR"
    )

    @computed_field(  # type: ignore[prop-decorator]
        description="its root-cause analysis (GET), when the alert names a service"
    )
    @property
    def rca(self) -> str | None:
        return f"/api/v1/alerts/{self.id}/rca" if self.service else None


class AlertDetail(AlertOut):
    timeline: list[EventOut]


class AlertPage(BaseModel):
    items: list[AlertOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page")


class AssignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str | None = Field(max_length=200)


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(default="", max_length=2000)


class AlertIncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: IncidentType | None = None
    root_cause_service: str | None = Field(default=None, max_length=128, pattern=SERVICE_PATTERN)
    title: str | None = Field(default=None, max_length=500)


class SilenceIn(BaseModel):
    """A silence ends at `ends_at`, or `duration` after it starts."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[str | dict[str, Any]] = Field(min_length=1, max_length=50)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    duration: Duration | None = None
    comment: str = Field(default="", max_length=1000)

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, value: list[str | dict[str, Any]]) -> list[str | dict[str, Any]]:
        for item in value:
            parse_matcher(item)
        return value

    @model_validator(mode="after")
    def _one_end(self) -> SilenceIn:
        if (self.ends_at is None) == (self.duration is None):
            raise ValueError("give exactly one of ends_at and duration")
        for at in (self.starts_at, self.ends_at):
            if at is not None and at.tzinfo is None:
                raise ValueError("times need a time zone offset, such as Z")
        return self


class SilenceOut(BaseModel):
    id: int
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str | None
    status: Literal["pending", "active", "expired"]


class MaintenanceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    starts_at: datetime
    ends_at: datetime
    reason: str = Field(default="", max_length=1000)

    @model_validator(mode="after")
    def _ordered(self) -> MaintenanceIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("times need a time zone offset, such as Z")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class MaintenanceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service: str
    starts_at: datetime
    ends_at: datetime
    reason: str


class PlaybookOut(BaseModel):
    incident_type: IncidentType
    steps: list[str]
    customised: bool


class PlaybookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    steps: list[str] = Field(min_length=1, max_length=50)

    @field_validator("steps")
    @classmethod
    def _not_blank(cls, steps: list[str]) -> list[str]:
        cleaned = [step.strip() for step in steps]
        if any(not step or len(step) > 1000 for step in cleaned):
            raise ValueError("each step is 1 to 1000 characters")
        return cleaned


class IncidentOut(BaseModel):
    id: int
    service: str
    type: IncidentType
    start: datetime
    end: datetime | None
    duration_minutes: float | None
    root_cause_service: str | None
    source: str
    title: str
    details: dict[str, Any]

    @computed_field(description="its root-cause analysis (GET)")  # type: ignore[prop-decorator]
    @property
    def rca(self) -> str:
        return f"/api/v1/incidents/{self.id}/rca"


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    next_cursor: str | None


class IncidentBatchResult(BaseModel):
    accepted: int
    ids: list[int]
