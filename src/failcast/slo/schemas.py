"""SLO definitions: what counts as a good event, the objective, the window and the alert guard.

One definition serves the API, the YAML importers (Sloth, OpenSLO) and the evaluator. Queries
are kept as metric references (`MetricRef`); the store resolves them, this package never runs them.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from failcast.kit.names import SERVICE_PATTERN

Comparison = Literal["gte", "gt", "lte", "lt"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class MetricRef(_Model):
    """A metric named by a query in some source (`prometheus`, `failcast`, `datadog`, ...)."""

    query: str = Field(min_length=1)
    source: str = Field(default="failcast", min_length=1)


class EventsSli(_Model):
    """Ratio of good (or bad) events to all events, such as HTTP requests without a 5xx."""

    type: Literal["events"] = "events"
    good: MetricRef | None = None
    bad: MetricRef | None = None
    total: MetricRef

    @model_validator(mode="after")
    def _one_side(self) -> EventsSli:
        if (self.good is None) == (self.bad is None):
            raise ValueError("give exactly one of good or bad events, next to total")
        return self


class RatioSli(_Model):
    """An already-computed ratio per interval: the error rate, or the success rate."""

    type: Literal["ratio"] = "ratio"
    ratio: MetricRef
    counts: Literal["bad", "good"] = "bad"


class LatencySli(_Model):
    """Share of requests under a threshold, or of intervals whose percentile is under it."""

    type: Literal["latency"] = "latency"
    threshold_ms: float = Field(gt=0)
    method: Literal["requests", "intervals"] = "requests"
    percentile: float = Field(default=99.0, gt=0, lt=100)
    metric: MetricRef | None = None


class ThresholdSli(_Model):
    """Intervals in which a measured value meets a bound, such as accuracy >= 0.9."""

    type: Literal["threshold"] = "threshold"
    metric: MetricRef
    op: Comparison
    value: float


Sli = Annotated[EventsSli | RatioSli | LatencySli | ThresholdSli, Field(discriminator="type")]


class MinTrafficGuard(_Model):
    """Low-traffic protection: with fewer than `min_events` events in an alert's long window,
    the alert also needs at least `min_bad_events` bad events there to fire."""

    min_events: int = Field(default=100, ge=0)
    min_bad_events: int = Field(default=3, ge=1)


class SloAlerting(_Model):
    """Which burn-rate tiers notify, and the low-traffic guard applied to all of them."""

    page: bool = True
    ticket: bool = True
    guard: MinTrafficGuard = MinTrafficGuard()


class SloDefinition(_Model):
    """A service level objective over a rolling window of 28 or 30 days."""

    name: str = Field(pattern=SERVICE_PATTERN, max_length=200)
    service: str = Field(pattern=SERVICE_PATTERN, max_length=200)
    description: str = ""
    objective: float = Field(gt=0.0, lt=1.0, description="target share of good events, 0.999")
    window_days: Literal[28, 30] = 30
    sli: Sli
    labels: dict[str, str] = Field(default_factory=dict)
    alerting: SloAlerting = SloAlerting()

    @field_validator("objective", mode="before")
    @classmethod
    def _not_a_percentage(cls, value: object) -> object:
        # 99.9 is a common slip for 0.999; say so instead of "less than 1".
        if isinstance(value, int | float) and 1.0 < value < 100.0:
            raise ValueError(f"objective is a fraction: write {value / 100:g} for {value:g}%")
        return value

    @property
    def error_budget(self) -> float:
        """Allowed share of bad events, 1 - objective."""
        return 1.0 - self.objective


def ml_accuracy_slo(
    service: str,
    *,
    min_accuracy: float = 0.9,
    objective: float = 0.95,
    window_days: Literal[28, 30] = 30,
    metric: str = "model_accuracy",
) -> SloDefinition:
    """Share of evaluation intervals in which the model's accuracy is at least `min_accuracy`."""
    return SloDefinition(
        name=f"{service}-accuracy",
        service=service,
        description=f"accuracy >= {min_accuracy:g}",
        objective=objective,
        window_days=window_days,
        sli=ThresholdSli(metric=MetricRef(query=metric), op="gte", value=min_accuracy),
    )


def ml_drift_slo(
    service: str,
    *,
    max_drift_share: float = 0.2,
    objective: float = 0.95,
    window_days: Literal[28, 30] = 30,
    metric: str = "drift_share",
) -> SloDefinition:
    """Share of intervals in which at most `max_drift_share` of the features have drifted."""
    return SloDefinition(
        name=f"{service}-drift",
        service=service,
        description=f"drift share <= {max_drift_share:.0%}",
        objective=objective,
        window_days=window_days,
        sli=ThresholdSli(metric=MetricRef(query=metric), op="lte", value=max_drift_share),
    )
