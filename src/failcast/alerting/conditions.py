"""Pure arithmetic of rule conditions: window aggregates, baselines and effect sizes."""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from failcast.signals import Factor


def aggregate(values: Sequence[float], agg: str) -> float:
    """avg, max, min or last of a non-empty window (values in time order)."""
    if not values:
        raise ValueError("an aggregate needs at least one value")
    if agg == "avg":
        return math.fsum(values) / len(values)
    if agg == "max":
        return max(values)
    if agg == "min":
        return min(values)
    if agg == "last":
        return values[-1]
    raise ValueError(f"unknown aggregation {agg!r}")


@dataclass(frozen=True, slots=True)
class Baseline:
    mean: float
    std: float
    count: int


def baseline(values: Sequence[float]) -> Baseline | None:
    """Mean and sample standard deviation of the values before the window; None if empty."""
    if not values:
        return None
    mean = math.fsum(values) / len(values)
    std = statistics.stdev(values) if len(values) >= 2 else 0.0
    return Baseline(mean, std, len(values))


def effect_size(value: float, base: Baseline | None) -> float | None:
    """How many baseline standard deviations the value is away from the baseline mean."""
    if base is None or base.std <= 0 or base.count < 2:
        return None
    return round((value - base.mean) / base.std, 3)


@dataclass(frozen=True, slots=True)
class Observation:
    """One rule instance's reading at one evaluation: the value, and whether it fires."""

    service: str | None
    labels: Mapping[str, str]
    value: float | None
    firing: bool
    window: str | None = None
    baseline: float | None = None
    effect_size: float | None = None
    time_to_impact_hours: float | None = None
    factors: Sequence[Factor] = ()
    details: Mapping[str, Any] = field(default_factory=dict)


def fingerprint(rule_id: int, service: str | None, labels: Mapping[str, str]) -> str:
    """Stable identity of a rule instance: the same rule on the same series, every time."""
    payload = json.dumps([rule_id, service or "", sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:32]
