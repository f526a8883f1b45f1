"""Risk level of a service from its health, predicted failure probabilities and SLO burn.

Each signal gives a level; the service's level is the highest of them, raised to `critical`
when signals from two or more sources (health, prediction, SLOs) reach `high`:

    health           ok: low · warning: medium · critical: high · critical below 40: critical
    P(fail) 24 h     >= 0.10 medium · >= 0.25 high · >= 0.50 critical
    P(fail) 48 h     >= 0.25 medium · >= 0.50 high
    P(fail) 72 h     >= 0.50 medium
    each SLO         ticket alert or budget below 25 %: medium · paging alert or budget
                     exhausted: high · paging alert with the budget exhausted: critical

Longer horizons need higher probabilities for the same level: failing within three days is
likelier than within one, and less urgent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from failcast.health.score import ServiceHealth, describe_value
from failcast.predict.risk import LEVELS, PROBABILITY_RULES, RiskLevel, probability_level
from failcast.slo.alerts import SloStatus

_HEALTH_LEVEL: dict[str, RiskLevel] = {
    "ok": "low",
    "warning": "medium",
    "critical": "high",
    "unknown": "low",
}
LOW_BUDGET = 0.25
CRITICAL_HEALTH = 40.0


class RiskSignal(BaseModel):
    """One piece of evidence and the level it points to."""

    model_config = ConfigDict(frozen=True)

    signal: str  # "health", "failure_24h", "slo:<name>"
    level: RiskLevel
    detail: str


class RiskAssessment(BaseModel):
    """A service's risk level with the signals behind it, strongest first."""

    model_config = ConfigDict(frozen=True)

    service: str
    level: RiskLevel
    signals: list[RiskSignal]
    corroborated: bool  # raised to critical by two or more high signals

    def reasons(self) -> list[str]:
        """The details of the signals above `low`."""
        return [s.detail for s in self.signals if s.level != "low"]


def _rank(level: RiskLevel) -> int:
    return LEVELS.index(level)


def _source(signal: str) -> str:
    return signal.split(":")[0].split("_")[0]


# The detail of the health signal of a service that reports none of the health metrics.
NO_HEALTH_DATA = "no health data"


def health_signal(health: ServiceHealth) -> RiskSignal:
    """Risk pointed to by the health score and status."""
    if health.score is None:
        return RiskSignal(signal="health", level="low", detail=NO_HEALTH_DATA)
    level = _HEALTH_LEVEL[health.status]
    if health.status == "critical" and health.score < CRITICAL_HEALTH:
        level = "critical"
    detail = f"health {health.score:.0f}/100 ({health.status})"
    worst = health.worst_component()
    if worst is not None and worst.status != "ok":
        metric = min(worst.metrics, key=lambda m: m.score)
        value = describe_value(metric.metric, metric.value)
        detail = f"health {health.score:.0f}/100 ({health.status}: {value})"
    return RiskSignal(signal="health", level=level, detail=detail)


def probability_signals(failure_probability: Mapping[int, float]) -> list[RiskSignal]:
    """Risk pointed to by predicted failure probabilities per horizon in hours (24, 48, 72)."""
    signals = []
    for horizon, probability in sorted(failure_probability.items()):
        if horizon not in PROBABILITY_RULES:
            raise ValueError(f"no rule for a {horizon} h horizon; use {sorted(PROBABILITY_RULES)}")
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"failure probability {probability!r} is outside [0, 1]")
        level = probability_level(horizon, probability)
        detail = f"{horizon} h failure probability {probability:.0%}"
        signals.append(RiskSignal(signal=f"failure_{horizon}h", level=level, detail=detail))
    return signals


def slo_signal(status: SloStatus) -> RiskSignal:
    """Risk pointed to by one SLO's burn-rate alerts and remaining budget."""
    exhausted = status.budget.exhausted
    remaining = status.budget.remaining
    level: RiskLevel = "low"
    if status.severity == "page":
        level = "critical" if exhausted else "high"
    elif exhausted:
        level = "high"
    elif status.severity == "ticket" or remaining < LOW_BUDGET:
        level = "medium"
    if exhausted:
        parts = [f"SLO {status.slo.name}: budget exhausted ({status.budget.consumed:.0%} used)"]
    else:
        parts = [f"SLO {status.slo.name}: {remaining:.0%} of budget left"]
    if status.severity is not None:
        parts.append(f"{status.severity} alert, burn {status.burn_rate_1h:.1f}x over 1 h")
    return RiskSignal(signal=f"slo:{status.slo.name}", level=level, detail=", ".join(parts))


def assess_risk(
    service: str,
    *,
    health: ServiceHealth | None = None,
    failure_probability: Mapping[int, float] | None = None,
    slos: Sequence[SloStatus] = (),
) -> RiskAssessment:
    """Risk level of one service from whatever evidence is available."""
    signals: list[RiskSignal] = []
    if health is not None:
        signals.append(health_signal(health))
    signals.extend(probability_signals(failure_probability or {}))
    signals.extend(slo_signal(status) for status in slos)
    signals.sort(key=lambda s: -_rank(s.level))
    level: RiskLevel = signals[0].level if signals else "low"
    # Sources, not signals: the 24 h and 48 h predictions come from one model, so they count once.
    sources = {_source(s.signal) for s in signals if _rank(s.level) >= _rank("high")}
    corroborated = level == "high" and len(sources) >= 2
    if corroborated:
        level = "critical"
    return RiskAssessment(service=service, level=level, signals=signals, corroborated=corroborated)
