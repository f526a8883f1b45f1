"""Health metrics, their default thresholds and weights, and the per-org / per-service config.

Resolution order for every weight and threshold value: service override, then org setting,
then the built-in default below. A YAML file (`load_health_config_yaml`) and an API body
validate through the same `HealthConfig`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from failcast.kit.yamlsource import Loc, custom_error, validate_yaml
from failcast.models.service import ServiceKindName

Component = Literal[
    "accuracy", "latency", "error_rate", "resource", "data_quality", "pipeline_reliability"
]
MetricName = Literal[
    "accuracy",
    "latency_p99_ms",
    "error_rate",
    "cpu_pct",
    "memory_pct",
    "disk_pct",
    "drift_share",
    "schema_error_rate",
    "run_success_rate",
    "freshness_lag_minutes",
]
Worse = Literal["higher", "lower"]
Status = Literal["ok", "warning", "critical"]

COMPONENTS: tuple[Component, ...] = get_args(Component)
METRIC_NAMES: tuple[MetricName, ...] = get_args(MetricName)

DEFAULT_WEIGHTS: dict[Component, float] = {
    "accuracy": 25.0,
    "latency": 20.0,
    "error_rate": 20.0,
    "resource": 15.0,
    "data_quality": 10.0,
    "pipeline_reliability": 10.0,
}

# Components that describe each kind of service; the others are left out and their weight is
# shared among these (renormalisation).
KIND_COMPONENTS: dict[ServiceKindName, frozenset[Component]] = {
    "microservice": frozenset({"latency", "error_rate", "resource"}),
    "ml_model": frozenset({"accuracy", "latency", "error_rate", "resource", "data_quality"}),
    "data_pipeline": frozenset({"resource", "data_quality", "pipeline_reliability"}),
}

# Score of a metric sitting exactly on each anchor; linear in between (docs/concepts.md).
ANCHOR_SCORES = (100.0, 70.0, 40.0, 0.0)


class Threshold(BaseModel):
    """Anchor values of one metric: full marks at `healthy`, 70 at `warning`, 40 at
    `critical`, 0 at `zero`."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    healthy: float
    warning: float
    critical: float
    zero: float

    def anchors(self) -> tuple[float, float, float, float]:
        return (self.healthy, self.warning, self.critical, self.zero)


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """What a metric measures, which way is worse, its valid range and default anchors."""

    name: MetricName
    component: Component
    worse: Worse
    label: str
    unit: str
    low: float
    high: float
    default: Threshold


def _info(
    name: MetricName,
    component: Component,
    worse: Worse,
    label: str,
    unit: str,
    bounds: tuple[float, float],
    anchors: tuple[float, float, float, float],
) -> MetricInfo:
    healthy, warning, critical, zero = anchors
    threshold = Threshold(healthy=healthy, warning=warning, critical=critical, zero=zero)
    return MetricInfo(name, component, worse, label, unit, bounds[0], bounds[1], threshold)


METRICS: dict[MetricName, MetricInfo] = {
    m.name: m
    for m in (
        _info("accuracy", "accuracy", "lower", "accuracy", "", (0, 1), (0.95, 0.90, 0.85, 0.70)),
        _info(
            "latency_p99_ms", "latency", "higher", "p99 latency", "ms", (0, math.inf),
            (50, 100, 200, 1000),
        ),
        _info(
            "error_rate", "error_rate", "higher", "error rate", "%", (0, 1),
            (0.005, 0.02, 0.05, 0.20),
        ),
        _info("cpu_pct", "resource", "higher", "CPU", "pct", (0, 100), (60, 80, 90, 100)),
        _info("memory_pct", "resource", "higher", "memory", "pct", (0, 100), (60, 80, 90, 100)),
        _info("disk_pct", "resource", "higher", "disk", "pct", (0, 100), (70, 80, 90, 100)),
        _info(
            "drift_share", "data_quality", "higher", "drifted features", "%", (0, 1),
            (0.05, 0.10, 0.20, 0.50),
        ),
        _info(
            "schema_error_rate", "data_quality", "higher", "schema errors", "%", (0, 1),
            (0.0, 0.01, 0.05, 0.20),
        ),
        _info(
            "run_success_rate", "pipeline_reliability", "lower", "run success", "%", (0, 1),
            (0.99, 0.95, 0.90, 0.50),
        ),
        _info(
            "freshness_lag_minutes", "pipeline_reliability", "higher", "freshness lag", "min",
            (0, math.inf), (30, 60, 120, 360),
        ),
    )
}  # fmt: skip


def threshold_problem(metric: MetricName, threshold: Threshold) -> str | None:
    """Why a threshold cannot score `metric`, or None when its anchors are in order."""
    info = METRICS[metric]
    values = threshold.anchors()
    ordered = values if info.worse == "higher" else tuple(reversed(values))
    if not all(a < b for a, b in itertools.pairwise(ordered)):
        relation = " < " if info.worse == "higher" else " > "
        shown = ", ".join(f"{k} {v:g}" for k, v in zip(_KEYS, values, strict=True))
        return (
            f"{metric}: need healthy{relation}warning{relation}critical{relation}zero"
            f" ({info.worse} is worse); got {shown}"
        )
    return None


_KEYS = ("healthy", "warning", "critical", "zero")

Weight = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


class ThresholdOverride(BaseModel):
    """Any subset of a metric's anchors; the rest comes from the level below."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    healthy: float | None = None
    warning: float | None = None
    critical: float | None = None
    zero: float | None = None

    def over(self, base: Threshold) -> Threshold:
        values = {k: getattr(self, k) for k in _KEYS if getattr(self, k) is not None}
        return base.model_copy(update=values)


class HealthOverride(BaseModel):
    """Weights and thresholds set at one level (an org or one service)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: dict[Component, Weight] = Field(default_factory=dict)
    thresholds: dict[MetricName, ThresholdOverride] = Field(default_factory=dict)


class OrgAggregation(BaseModel):
    """How service scores combine into the org score (docs/concepts.md, org aggregation)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    tier_weights: dict[int, Weight] = Field(default_factory=lambda: {1: 3.0, 2: 2.0, 3: 1.0})
    critical_penalty: float = Field(default=15.0, ge=0.0, le=100.0)
    warning_penalty: float = Field(default=5.0, ge=0.0, le=100.0)
    max_penalty: float = Field(default=40.0, ge=0.0, le=100.0)


@dataclass(frozen=True, slots=True)
class ResolvedHealthConfig:
    """The weights and thresholds that apply to one service after overrides."""

    weights: dict[Component, float]
    thresholds: dict[MetricName, Threshold]


class HealthConfig(HealthOverride):
    """An organisation's health settings, with optional per-service overrides."""

    version: Literal[1] = 1
    org: OrgAggregation = OrgAggregation()
    services: dict[str, HealthOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _every_level_resolves(self) -> HealthConfig:
        for service in (None, *self.services):
            prefix: Loc = () if service is None else ("services", service)
            level = self if service is None else self.services[service]
            resolved = self.resolve(service)
            for metric, threshold in resolved.thresholds.items():
                problem = threshold_problem(metric, threshold)
                if problem is not None:
                    # Point at the level that set the metric, falling back to the org's entry.
                    at = prefix if metric in level.thresholds else ()
                    raise custom_error((*at, "thresholds", metric), problem)
            if sum(resolved.weights.values()) <= 0.0:
                raise custom_error((*prefix, "weights"), "at least one weight must be above 0")
        return self

    def resolve(self, service: str | None = None) -> ResolvedHealthConfig:
        """Weights and thresholds for `service` (or the org's own when None)."""
        levels: list[HealthOverride] = [self]
        if service is not None and service in self.services:
            levels.append(self.services[service])
        weights = dict(DEFAULT_WEIGHTS)
        thresholds = {name: info.default for name, info in METRICS.items()}
        for level in levels:
            weights.update(level.weights)
            for metric, override in level.thresholds.items():
                thresholds[metric] = override.over(thresholds[metric])
        return ResolvedHealthConfig(weights, thresholds)


def load_health_config_yaml(text: str, source: str = "health.yaml") -> HealthConfig:
    """Parse and validate a health config file; errors name the line and the key."""
    return validate_yaml(HealthConfig, text, source)
