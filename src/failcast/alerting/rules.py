"""Alert rule definitions, one schema per kind, shared by the API and YAML files.

| kind                | fires when                                        | reads              |
|---------------------|---------------------------------------------------|--------------------|
| threshold           | aggregate of `metric` over `window` `op` `value`  | stored samples     |
| anomaly_score       | max detector score over `window` > `above`        | `anomaly_score`    |
| forecast_breach     | predicted hours to a breach < `below_hours`       | a signal provider  |
| failure_probability | P(failure within `horizon_hours`) > `above`       | a signal provider  |
| slo_burn            | a burn-rate tier at least as loud as `tier` fires | a signal provider  |
| drift               | drift statistic (`statistic`, PSI) > `above`      | a signal provider  |
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, field_validator

from failcast.kit.durations import Duration, duration_ms
from failcast.kit.names import NAME_PATTERN, SERVICE_PATTERN
from failcast.kit.yamlsource import validate_yaml
from failcast.models.alert import Severity as Severity
from failcast.models.incident import IncidentType
from failcast.store.labels import Matcher, exact, parse_beside_metric

SEVERITIES: tuple[Severity, ...] = tuple(Severity)
RuleKind = Literal[
    "threshold", "anomaly_score", "forecast_breach", "failure_probability", "slo_burn", "drift"
]
SAMPLE_KINDS: frozenset[str] = frozenset({"threshold", "anomaly_score"})
ANOMALY_METRIC = "anomaly_score"


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


Finite = Annotated[float, BeforeValidator(_finite)]


class FlapControl(BaseModel):
    """A rule instance that changes state more than `max_changes` times within `window`
    is held firing and marked flapping until it calms down."""

    model_config = ConfigDict(extra="forbid")

    max_changes: int = Field(default=6, ge=2, le=1000)
    window: Duration = "1h"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1, max_length=200)
    severity: Severity = Severity.warning
    enabled: bool = True
    description: str = Field(default="", max_length=2000)
    service: str | None = Field(
        default=None, pattern=SERVICE_PATTERN, max_length=128, description="one service, or all"
    )
    selector: dict[str, str] = Field(
        default_factory=dict, description="series labels that must be equal"
    )
    match: str | None = Field(
        default=None,
        max_length=2000,
        description=(
            "more series matchers, as a PromQL selector with `=`, `!=`, `=~`, `!~`: "
            '`{path=~"/v1/.*", code!="200"}`'
        ),
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="extra labels on the alert, used by routes"
    )
    for_: Duration = Field(default="0s", alias="for")
    keep_firing_for: Duration = "0s"
    incident_type: IncidentType | None = None
    flap: FlapControl = Field(default_factory=FlapControl)

    @field_validator("match")
    @classmethod
    def _match(cls, value: str | None) -> str | None:
        if value is not None:
            parse_beside_metric(value)  # BadMatcher is a ValueError: the field's error
        return value

    @property
    def matchers(self) -> list[Matcher]:
        """`selector` and `match` together."""
        extra = parse_beside_metric(self.match) if self.match else []
        return [*exact(self.selector), *extra]

    @property
    def for_ms(self) -> int:
        return duration_ms(self.for_)

    @property
    def keep_firing_ms(self) -> int:
        return duration_ms(self.keep_firing_for)

    def fires(self, value: float) -> bool:
        raise TypeError(f"{type(self).__name__} does not define a condition")

    def describe(self) -> str:
        return self.name

    def default_incident_type(self, metric: str | None) -> IncidentType:
        if self.incident_type is not None:
            return self.incident_type
        return incident_type_for_metric(metric or "")


_OPS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


class ThresholdRule(_Rule):
    kind: Literal["threshold"] = "threshold"
    metric: str = Field(pattern=NAME_PATTERN, max_length=200)
    op: Literal[">", ">=", "<", "<=", "==", "!="] = ">"
    value: Finite
    window: Duration = "5m"
    agg: Literal["avg", "max", "min", "last"] = "avg"
    baseline_window: Duration = "1h"

    def fires(self, value: float) -> bool:
        return bool(_OPS[self.op](value, self.value))

    def describe(self) -> str:
        text = f"{self.agg}({self.metric}[{self.window}]) {self.op} {self.value:g}"
        return text + (f" for {self.for_}" if self.for_ms else "")


class AnomalyScoreRule(_Rule):
    kind: Literal["anomaly_score"] = "anomaly_score"
    above: Finite = Field(ge=0)
    source_metric: str | None = Field(
        default=None, pattern=NAME_PATTERN, description="only scores of this metric"
    )
    window: Duration = "5m"
    baseline_window: Duration = "1h"

    def fires(self, value: float) -> bool:
        return value > self.above

    def describe(self) -> str:
        scored = f"{{metric={self.source_metric}}}" if self.source_metric else ""
        return f"max({ANOMALY_METRIC}{scored}[{self.window}]) > {self.above:g}"


class ForecastBreachRule(_Rule):
    kind: Literal["forecast_breach"] = "forecast_breach"
    metric: str | None = Field(default=None, pattern=NAME_PATTERN)
    below_hours: Finite = Field(gt=0)

    def fires(self, value: float) -> bool:
        return value < self.below_hours

    def describe(self) -> str:
        what = self.metric or "a forecast metric"
        return f"{what} predicted to breach its limit within {self.below_hours:g} h"


class FailureProbabilityRule(_Rule):
    kind: Literal["failure_probability"] = "failure_probability"
    above: Finite = Field(gt=0, lt=1)
    horizon_hours: Finite = Field(default=24.0, gt=0)

    def fires(self, value: float) -> bool:
        return value > self.above

    def describe(self) -> str:
        return f"P(failure within {self.horizon_hours:g} h) > {self.above:g}"


class SloBurnRule(_Rule):
    kind: Literal["slo_burn"] = "slo_burn"
    slo: str | None = Field(default=None, max_length=200, description="one SLO, or all")
    tier: Literal["page", "ticket"] = "page"

    def fires(self, value: float) -> bool:
        # The provider decides which tier fires; value is the loudness (2 page, 1 ticket).
        return value >= (2.0 if self.tier == "page" else 1.0)

    def describe(self) -> str:
        return f"SLO {self.slo or '*'} burning its error budget at {self.tier} level or louder"


class DriftRule(_Rule):
    kind: Literal["drift"] = "drift"
    feature: str | None = Field(default=None, max_length=200)
    statistic: Literal["psi", "ks", "wasserstein", "jensen_shannon", "severity"] = Field(
        default="psi",
        description="What `above` is compared with: a drift statistic, or the severity "
        "(the largest statistic over its own threshold; 1 = a threshold is reached).",
    )
    above: Finite = Field(ge=0)

    def fires(self, value: float) -> bool:
        return value > self.above

    def describe(self) -> str:
        return f"{self.statistic} of {self.feature or 'any feature'} > {self.above:g}"

    def default_incident_type(self, metric: str | None) -> IncidentType:
        return self.incident_type or IncidentType.accuracy_decay


RuleSpec = Annotated[
    ThresholdRule
    | AnomalyScoreRule
    | ForecastBreachRule
    | FailureProbabilityRule
    | SloBurnRule
    | DriftRule,
    Field(discriminator="kind"),
]
RULE_ADAPTER: TypeAdapter[RuleSpec] = TypeAdapter(RuleSpec)


class RuleFile(BaseModel):
    """A YAML file of rules: `rules: [...]`."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RuleSpec] = Field(max_length=1000)


def load_rules_yaml(text: str, source: str = "rules.yaml") -> list[RuleSpec]:
    """Parse and validate a rule file; errors name the line and the key."""
    return validate_yaml(RuleFile, text, source).rules


def rule_spec(stored: dict[str, Any]) -> RuleSpec:
    return RULE_ADAPTER.validate_python(stored)


def dump_rule(rule: RuleSpec) -> dict[str, Any]:
    data: dict[str, Any] = rule.model_dump(mode="json", by_alias=True)
    return data


_TYPE_WORDS: tuple[tuple[tuple[str, ...], IncidentType], ...] = (
    (("latency", "duration", "slow", "p99", "p95", "response"), IncidentType.latency_spike),
    (("accuracy", "drift", "auc", "precision", "recall", "f1"), IncidentType.accuracy_decay),
    (("cost", "spend", "billing"), IncidentType.cost_overload),
    (
        ("pipeline", "freshness", "rows", "run_success", "schema", "etl"),
        IncidentType.pipeline_failure,
    ),
    (("cascade",), IncidentType.cascade),
)


def incident_type_for_metric(text: str) -> IncidentType:
    """The incident type a metric or alert name most likely signals; resource exhaustion
    (CPU, memory, disk, errors, saturation) when nothing more specific fits."""
    lowered = text.lower()
    for words, kind in _TYPE_WORDS:
        if any(word in lowered for word in words):
            return kind
    return IncidentType.resource_exhaustion
