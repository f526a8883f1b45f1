from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from failcast.chaos.experiments import Experiment
from failcast.chaos.faults import FaultKind
from failcast.models import ExperimentStatus, Verdict
from failcast.timeutil import parse_duration_ms


def _seconds(value: Any) -> Any:
    if isinstance(value, str):
        return parse_duration_ms(value) / 1000
    return value


class SimulatorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    history_days: float = Field(
        default=0,
        ge=0,
        le=30,
        description=(
            "With `enabled`: also store this many days of the fleet's simulated history, ending"
            " now, in the background, so that charts, health and model training have data at"
            " once. Only for an org that has no samples yet (409 otherwise)."
        ),
    )


class FleetService(BaseModel):
    name: str
    kind: str
    dependencies: list[str]
    metrics: list[str]
    fault_kinds: list[FaultKind] = Field(description="Faults that can be injected into it.")


class FleetOut(BaseModel):
    enabled: bool
    services: list[FleetService]
    history_days_queued: float = Field(
        default=0, description="Days of simulated history queued for storing by this request."
    )


class InjectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_service: str = Field(min_length=1, max_length=128)
    chaos_type: FaultKind
    duration: float = Field(gt=0, le=30 * 86400, description="Seconds, or text such as 5m, 2h.")
    intensity: float = Field(default=1.0, gt=0, le=5)
    lead: float = Field(
        default=0.0, ge=0, le=30 * 86400, description="Precursor before a slow failure hits."
    )

    _durations = field_validator("duration", "lead", mode="before")(_seconds)


class FaultOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    experiment_id: int | None
    kind: FaultKind
    target: str
    start: float
    duration_s: float
    lead_s: float
    intensity: float
    stopped_at: float | None
    end: float


class ExperimentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    experiment: Experiment
    observe_seconds: float = Field(default=300, gt=0, le=86400)
    settle_seconds: float = Field(default=60, ge=0, le=86400)
    dry_run: bool = Field(
        default=False,
        description="Compute the journal on a copy of the fleet at once, touching nothing.",
    )

    _durations = field_validator("observe_seconds", "settle_seconds", mode="before")(_seconds)


class ExperimentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int | None
    title: str
    status: ExperimentStatus
    verdict: Verdict | None
    observe_from: float
    method_start: float
    method_end: float
    after_from: float
    after_to: float
    journal: dict[str, Any] | None
