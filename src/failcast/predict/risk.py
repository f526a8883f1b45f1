"""The risk levels, and the level that a predicted failure probability alone points to.

Longer horizons need higher probabilities for the same level: failing within three days is
likelier than within one, and less urgent. The health domain combines these with health and
SLO signals into a service's risk (health/risk.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

RiskLevel = Literal["low", "medium", "high", "critical"]
LEVELS: tuple[RiskLevel, ...] = ("low", "medium", "high", "critical")

# (horizon hours, [(minimum probability, level), ...] highest first)
PROBABILITY_RULES: dict[int, tuple[tuple[float, RiskLevel], ...]] = {
    24: ((0.50, "critical"), (0.25, "high"), (0.10, "medium")),
    48: ((0.50, "high"), (0.25, "medium")),
    72: ((0.50, "medium"),),
}


def probability_level(horizon: int, probability: float) -> RiskLevel:
    """The level a failure probability within `horizon` hours points to."""
    return next(
        (level for minimum, level in PROBABILITY_RULES[horizon] if probability >= minimum), "low"
    )


def predicted_level(failure_probability: Mapping[int, float]) -> RiskLevel:
    """The highest level among the horizons that have a rule (the others are not risk inputs).

    >>> predicted_level({1: 0.9, 24: 0.12, 48: 0.3})
    'medium'
    >>> predicted_level({24: 0.6})
    'critical'
    """
    levels = [
        probability_level(horizon, p)
        for horizon, p in failure_probability.items()
        if horizon in PROBABILITY_RULES
    ]
    return max(levels, key=LEVELS.index, default="low")
