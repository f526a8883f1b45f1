"""Org health: a tier-weighted mean of service scores, less a penalty for troubled services.

    mean     = sum(t_i * s_i) / sum(t_i)     t_i: weight of service i's tier (1: 3, 2: 2, 3: 1)
    penalty  = min(max_penalty, sum over critical services of critical_penalty * t_i / t_max
                               + sum over warning services of warning_penalty * t_i / t_max)
    status   = band(max(0, mean - penalty)), raised to at least `warning` while any service
               is critical
    score    = max(0, mean - penalty), capped at the top of the status's band (79 for warning)

The penalty keeps one critical service visible in a large, otherwise healthy fleet, where the
mean alone would hide it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from failcast.health.config import HealthConfig, OrgAggregation, Status
from failcast.health.score import ServiceHealth, band, within_band, worst


class OrgHealth(BaseModel):
    """An organisation's score with its parts and the services worst first."""

    model_config = ConfigDict(frozen=True)

    score: float | None
    status: Status | Literal["unknown"]
    mean: float | None
    penalty: float
    counts: dict[str, int]  # services per status, including "unknown"
    services: list[ServiceHealth]  # scored services, lowest score first, then unknown ones

    def explain(self) -> str:
        """One line: mean, penalty and result."""
        if self.score is None or self.mean is None:
            return "no service has health data"
        raw = max(0.0, self.mean - self.penalty)
        capped = f", capped at {self.score:g}" if self.score < raw else ""
        return (
            f"tier-weighted mean {self.mean:.1f} - penalty {self.penalty:.1f}"
            f" = {raw:.1f}{capped} ({self.status})"
        )


def score_org(
    services: Sequence[ServiceHealth],
    config: HealthConfig | OrgAggregation | None = None,
) -> OrgHealth:
    """Combine service healths (each carrying its tier) into the org's health."""
    rules = config.org if isinstance(config, HealthConfig) else (config or OrgAggregation())
    counts = {"ok": 0, "warning": 0, "critical": 0, "unknown": 0}
    for health in services:
        counts[health.status] += 1
    scored = [h for h in services if h.score is not None]
    unknown = sorted((h for h in services if h.score is None), key=lambda h: h.service)
    ordered = sorted(scored, key=ServiceHealth.order) + unknown
    if not scored:
        return OrgHealth(
            score=None, status="unknown", mean=None, penalty=0.0, counts=counts, services=ordered
        )
    weights = [_tier_weight(rules, h.tier) for h in scored]
    heaviest = max(weights)
    if heaviest <= 0.0:
        raise ValueError("every service's tier weighs 0: give at least one tier a weight")
    mean = sum(w * (h.score or 0.0) for w, h in zip(weights, scored, strict=True)) / sum(weights)
    penalty = 0.0
    for weight, health in zip(weights, scored, strict=True):
        per_service = {"critical": rules.critical_penalty, "warning": rules.warning_penalty}
        penalty += per_service.get(health.status, 0.0) * weight / heaviest
    penalty = min(rules.max_penalty, penalty)
    raw = max(0.0, mean - penalty)
    status = band(raw)
    if counts["critical"]:
        status = worst([status, "warning"])
    score = within_band(raw, status)
    return OrgHealth(
        score=score, status=status, mean=mean, penalty=penalty, counts=counts, services=ordered
    )


def _tier_weight(rules: OrgAggregation, tier: int) -> float:
    if tier not in rules.tier_weights:
        raise ValueError(
            f"no weight for tier {tier}; configured tiers: {sorted(rules.tier_weights)}"
        )
    return rules.tier_weights[tier]
