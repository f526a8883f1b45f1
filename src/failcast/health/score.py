"""Health score of one service: metric scores, component scores and their weighted mean.

metric score     piecewise linear through (healthy, 100), (warning, 70), (critical, 40),
                 (zero, 0); 100 beyond healthy, 0 beyond zero
component score  the lowest score among its metrics (the scarcest resource decides)
service score    sum(w_c * s_c) / sum(w_c) over the components that apply to the service's
                 kind and have data; the others' weight is shared out (renormalisation)
service status   the worse of the score band (ok >= 80, warning >= 60) and the worst component
score ceiling    a warning service scores at most 79, a critical one at most 59, so that the
                 score always sits in the band of the status shown beside it
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from failcast.health.config import (
    ANCHOR_SCORES,
    COMPONENTS,
    KIND_COMPONENTS,
    METRICS,
    Component,
    HealthConfig,
    MetricName,
    ResolvedHealthConfig,
    Status,
    Threshold,
)
from failcast.models.service import ServiceKindName

OK_BAND = 80.0
WARNING_BAND = 60.0
# The highest score each status may show: one below the cut of the better band, because scores
# are read as whole numbers and 79.6 would read "80", an ok score, beside "warning".
CEILINGS: dict[Status, float] = {"ok": 100.0, "warning": OK_BAND - 1, "critical": WARNING_BAND - 1}
_SEVERITY: dict[Status, int] = {"ok": 0, "warning": 1, "critical": 2}


class ServiceMetrics(BaseModel):
    """Latest value of every health metric of a service; leave out what is not measured."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    accuracy: float | None = Field(default=None, ge=0.0, le=1.0)
    latency_p99_ms: float | None = Field(default=None, ge=0.0)
    error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    cpu_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    memory_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    disk_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    drift_share: float | None = Field(default=None, ge=0.0, le=1.0)
    schema_error_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    run_success_rate: float | None = Field(default=None, ge=0.0, le=1.0)
    freshness_lag_minutes: float | None = Field(default=None, ge=0.0)

    def values(self) -> dict[MetricName, float]:
        """The metrics that have a value."""
        return {
            name: float(value) for name in METRICS if (value := getattr(self, name)) is not None
        }


class MetricScore(BaseModel):
    """One metric's value, its anchors and the score they give."""

    model_config = ConfigDict(frozen=True)

    metric: MetricName
    value: float
    score: float
    status: Status
    threshold: Threshold


class ComponentScore(BaseModel):
    """One component: its weight before and after renormalisation, score and metrics."""

    model_config = ConfigDict(frozen=True)

    component: Component
    weight: float  # as configured
    share: float  # weight / sum of the weights that apply
    score: float
    status: Status
    contribution: float  # share * score; the contributions add up to the service score
    metrics: list[MetricScore]


class SkippedComponent(BaseModel):
    """A component left out of the score, and why."""

    model_config = ConfigDict(frozen=True)

    component: Component
    weight: float
    reason: str


class ServiceHealth(BaseModel):
    """A service's health score with everything needed to follow the calculation."""

    model_config = ConfigDict(frozen=True)

    service: str
    kind: ServiceKindName
    tier: int = 2
    score: float | None  # None when no component has data
    status: Status | Literal["unknown"]
    components: list[ComponentScore]
    skipped: list[SkippedComponent]
    # The components' weighted mean before the ceiling of the status; the contributions add
    # up to it. Equal to `score` unless a worse status capped the score.
    weighted_mean: float | None = None

    def capped(self) -> bool:
        """Whether the status held the score below the weighted mean."""
        return (
            self.score is not None
            and self.weighted_mean is not None
            and self.score < self.weighted_mean
        )

    def order(self) -> tuple[float, float, str]:
        """Sort key, weakest first (no score before any): the score, then the weighted mean
        (services capped at the same score keep their order), then the name."""
        score = -1.0 if self.score is None else self.score
        mean = score if self.weighted_mean is None else self.weighted_mean
        return (score, mean, self.service)

    def cap_reason(self) -> str:
        """Why the score sits below the weighted mean: `error_rate is critical`."""
        names = [c.component for c in self.components if c.status == self.status]
        if not names:
            return f"the score is in the {self.status} band"
        return f"{' and '.join(names)} {'is' if len(names) == 1 else 'are'} {self.status}"

    def worst_component(self) -> ComponentScore | None:
        """The component with the lowest score (ties: the heavier one)."""
        if not self.components:
            return None
        return min(self.components, key=lambda c: (c.score, -c.share))

    def explain(self) -> list[str]:
        """The calculation as readable lines, one per component plus the total."""
        lines = []
        for c in self.components:
            metrics = ", ".join(
                f"{describe_value(m.metric, m.value)} -> {m.score:.1f}" for m in c.metrics
            )
            lines.append(
                f"{c.component}: {metrics}; score {c.score:.1f} ({c.status}),"
                f" weight {c.weight:g} -> {c.share:.1%}, contributes {c.contribution:.1f}"
            )
        for s in self.skipped:
            lines.append(f"{s.component}: left out ({s.reason}), weight {s.weight:g} shared out")
        total = "no data" if self.score is None else f"{self.score:.1f}"
        line = f"{self.service}: health {total} ({self.status})"
        if self.capped():
            line += (
                f"; weighted mean {self.weighted_mean:.1f},"
                f" capped at {self.score:g} because {self.cap_reason()}"
            )
        lines.append(line)
        return lines


def describe_value(metric: MetricName, value: float) -> str:
    """A metric value as a person reads it: `p99 latency 140 ms`, `error rate 7.2%`.

    >>> describe_value("latency_p99_ms", 140.0), describe_value("error_rate", 0.072)
    ('p99 latency 140 ms', 'error rate 7.2%')
    """
    info = METRICS[metric]
    if info.unit == "%":
        return f"{info.label} {value:.1%}"
    if info.unit == "pct":
        return f"{info.label} {value:.0f}%"
    if info.unit:
        return f"{info.label} {value:g} {info.unit}"
    return f"{info.label} {value:.3g}"


def metric_score(metric: MetricName, value: float, threshold: Threshold) -> float:
    """Score in [0, 100] of one value, linear between the threshold's anchors.

    >>> anchors = Threshold(healthy=200, warning=500, critical=1000, zero=2000)
    >>> metric_score("latency_p99_ms", 350.0, anchors)  # halfway from 100 to 70
    85.0
    >>> metric_score("latency_p99_ms", 5000.0, anchors)
    0.0
    """
    anchors = threshold.anchors()
    if METRICS[metric].worse == "lower":
        # Mirror so that larger always means worse below.
        anchors = (-anchors[0], -anchors[1], -anchors[2], -anchors[3])
        value = -value
    if value <= anchors[0]:
        return ANCHOR_SCORES[0]
    for (x0, y0), (x1, y1) in itertools.pairwise(zip(anchors, ANCHOR_SCORES, strict=True)):
        if value <= x1:
            return y0 + (y1 - y0) * (value - x0) / (x1 - x0)
    return ANCHOR_SCORES[-1]


def metric_status(metric: MetricName, value: float, threshold: Threshold) -> Status:
    """`critical` at or past the critical value, `warning` at or past warning, else `ok`."""
    sign = 1.0 if METRICS[metric].worse == "higher" else -1.0
    if sign * value >= sign * threshold.critical:
        return "critical"
    return "warning" if sign * value >= sign * threshold.warning else "ok"


def band(score: float) -> Status:
    """Status of a score on its own: ok from 80, warning from 60, critical below.

    >>> band(85.0), band(70.0), band(10.0)
    ('ok', 'warning', 'critical')
    """
    if score >= OK_BAND:
        return "ok"
    return "warning" if score >= WARNING_BAND else "critical"


def worst(statuses: list[Status]) -> Status:
    return max(statuses, key=_SEVERITY.__getitem__, default="ok")


def within_band(score: float, status: Status) -> float:
    """The score, lowered where needed to the highest score `status` may show (`CEILINGS`)."""
    return min(score, CEILINGS[status])


def score_service(
    service: str,
    kind: ServiceKindName,
    metrics: ServiceMetrics | Mapping[str, float | None],
    config: HealthConfig | ResolvedHealthConfig | None = None,
    *,
    tier: int = 2,
) -> ServiceHealth:
    """Health of one service from its latest metrics, with the calculation spelled out."""
    if not isinstance(metrics, ServiceMetrics):
        metrics = ServiceMetrics.model_validate(dict(metrics))
    if config is None:
        config = HealthConfig()
    resolved = config.resolve(service) if isinstance(config, HealthConfig) else config
    values = metrics.values()
    applicable = KIND_COMPONENTS[kind]
    scored: list[tuple[Component, float, list[MetricScore]]] = []
    skipped: list[SkippedComponent] = []
    for component in COMPONENTS:
        weight = resolved.weights[component]
        if component not in applicable:
            skipped.append(
                SkippedComponent(component=component, weight=weight, reason=f"not used for {kind}")
            )
            continue
        parts = [
            MetricScore(
                metric=name,
                value=values[name],
                score=metric_score(name, values[name], resolved.thresholds[name]),
                status=metric_status(name, values[name], resolved.thresholds[name]),
                threshold=resolved.thresholds[name],
            )
            for name, info in METRICS.items()
            if info.component == component and name in values
        ]
        if not parts:
            skipped.append(SkippedComponent(component=component, weight=weight, reason="no data"))
        elif weight == 0.0:
            skipped.append(SkippedComponent(component=component, weight=weight, reason="weight 0"))
        else:
            scored.append((component, weight, parts))
    total_weight = sum(weight for _, weight, _ in scored)
    components: list[ComponentScore] = []
    for component, weight, parts in scored:
        score = min(p.score for p in parts)
        share = weight / total_weight
        components.append(
            ComponentScore(
                component=component,
                weight=weight,
                share=share,
                score=score,
                status=worst([p.status for p in parts]),
                contribution=share * score,
                metrics=parts,
            )
        )
    if not components:
        return ServiceHealth(
            service=service, kind=kind, tier=tier, score=None, status="unknown",
            components=[], skipped=skipped,
        )  # fmt: skip
    mean = min(100.0, max(0.0, sum(c.contribution for c in components)))
    status = worst([band(mean), *(c.status for c in components)])
    return ServiceHealth(
        service=service, kind=kind, tier=tier, score=within_band(mean, status), status=status,
        components=components, skipped=skipped, weighted_mean=mean,
    )  # fmt: skip
