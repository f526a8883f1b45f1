"""Cascade risk: failure probability carried from dependencies to their callers.

For every service i, in topological order (dependencies first):

    P(fail_i) = 1 - (1 - p_i) * prod over dependencies j of (1 - w_ij * P(fail_j))

p_i is the service's own failure probability (from the predictor) and w_ij the probability that
a failure of j fails i. w_ij starts at the edge's criticality weight b_ij and rises towards 1 as
the dependency saturates past a knee, because a saturated dependency answers slowly and its
callers time out even where they have a fallback:

    w_ij = b_ij + (1 - b_ij) * clamp((u_j - knee) / (1 - knee), 0, 1)

with u_j the dependency's saturation in [0, 1] (its busiest resource). docs/concepts.md works an
example through by hand.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from failcast.topology.graph import DependencyGraph

DEFAULT_SATURATION_KNEE = 0.7


@dataclass(frozen=True, slots=True)
class Contribution:
    """How much one dependency adds to its caller's failure probability."""

    dependency: str
    weight: float
    dependency_probability: float
    effect: float  # weight * dependency_probability


@dataclass(frozen=True, slots=True)
class CascadeResult:
    """A service's own and total failure probability, with what carried risk into it."""

    service: str
    own_probability: float
    probability: float
    contributors: tuple[Contribution, ...]  # largest effect first
    root_path: tuple[str, ...]  # the service, then the chain of dominant dependencies

    @property
    def inherited(self) -> float:
        """Failure probability that comes from dependencies rather than the service itself."""
        return self.probability - self.own_probability


def edge_weight(
    base_weight: float, saturation: float, knee: float = DEFAULT_SATURATION_KNEE
) -> float:
    """Probability that a failing dependency fails its caller, raised by its saturation.

    Below the knee the edge keeps its base weight; past it the weight rises to 1:

    >>> edge_weight(0.5, saturation=0.2), edge_weight(0.5, saturation=0.85)
    (0.5, 0.75)
    """
    _check_unit("base_weight", base_weight)
    _check_unit("saturation", saturation)
    if not 0.0 <= knee < 1.0:
        raise ValueError("knee must be in [0, 1)")
    pressure = min(1.0, max(0.0, (saturation - knee) / (1.0 - knee)))
    return base_weight + (1.0 - base_weight) * pressure


def propagate(
    graph: DependencyGraph,
    own_probability: Mapping[str, float],
    saturation: Mapping[str, float] | None = None,
    *,
    knee: float = DEFAULT_SATURATION_KNEE,
) -> dict[str, CascadeResult]:
    """Total failure probability of every service; missing inputs count as 0."""
    saturation = saturation or {}
    for name, value in {**own_probability, **saturation}.items():
        if name not in graph:
            raise ValueError(f"unknown service {name!r}")
        _check_unit(name, value)
    results: dict[str, CascadeResult] = {}
    for name in graph.topological_order():
        own = own_probability.get(name, 0.0)
        survive = 1.0 - own
        contributions: list[Contribution] = []
        for dependency in graph.dependencies(name):
            upstream = results[dependency.target].probability
            weight = edge_weight(
                dependency.base_weight, saturation.get(dependency.target, 0.0), knee
            )
            effect = weight * upstream
            survive *= 1.0 - effect
            contributions.append(Contribution(dependency.target, weight, upstream, effect))
        contributions.sort(key=lambda c: (-c.effect, c.dependency))
        probability = min(1.0, max(0.0, 1.0 - survive))
        root: tuple[str, ...] = (name,)
        if contributions and contributions[0].effect > own:
            root = (name, *results[contributions[0].dependency].root_path)
        results[name] = CascadeResult(name, own, probability, tuple(contributions), root)
    return results


def _check_unit(name: str, value: float) -> None:
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"{name}: {value!r} is not a probability in [0, 1]")
