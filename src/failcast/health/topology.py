"""The org's dependency graph with live inputs: health per node, own failure probabilities,
saturation and latency, read from stored samples and predictions.

Own failure probability of a service, for the cascade: the active model's newest prediction
for the horizon when there is one; otherwise from health, ((100 - score) / 100)^2, so a
healthy 90 gives 0.01, a warning 70 gives 0.09, a critical 50 gives 0.25 and 0 gives 1;
a service with neither counts as 0.

Saturation: the mean of the `saturation` metric (in [0, 1]); without it, the busiest of CPU,
memory and disk (percentages / 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.health import service as health_service
from failcast.topology.graph import DependencyGraph
from failcast.topology.service import SimulatedTopology, Source, org_spec

OwnSource = Literal["prediction", "health", "none"]
EXTRA_METRICS = ("saturation", "latency_p50_ms", "latency_p99_ms", "latency_ms")
LATENCY_METRICS: dict[str, tuple[str, ...]] = {
    "p50": ("latency_p50_ms", "latency_ms"),
    "p99": ("latency_p99_ms", "latency_ms"),
}


def health_probability(score: float | None) -> float | None:
    """Own failure probability read from a health score: ((100 - score) / 100)^2."""
    if score is None:
        return None
    return min(1.0, max(0.0, (100.0 - score) / 100.0)) ** 2


@dataclass(frozen=True)
class OwnProbability:
    value: float
    source: OwnSource


@dataclass(frozen=True)
class LiveTopology:
    """The graph, where it came from, and the live inputs of each node."""

    source: Source
    graph: DependencyGraph
    fleet: health_service.FleetHealth
    predictions: health_service.Predictions

    def snapshot(self, name: str) -> health_service.ServiceSnapshot | None:
        return self.fleet.by_name().get(name)

    def own_probabilities(self, horizon: int) -> dict[str, OwnProbability]:
        found: dict[str, OwnProbability] = {}
        for name in self.graph.services:
            predicted = self.predictions.probabilities.get(name, {}).get(horizon)
            snapshot = self.snapshot(name)
            from_health = health_probability(snapshot.health.score if snapshot else None)
            if predicted is not None:
                found[name] = OwnProbability(min(1.0, max(0.0, predicted)), "prediction")
            elif from_health is not None:
                found[name] = OwnProbability(from_health, "health")
            else:
                found[name] = OwnProbability(0.0, "none")
        return found

    def saturation(self) -> dict[str, float]:
        found: dict[str, float] = {}
        for name in self.graph.services:
            snapshot = self.snapshot(name)
            means = snapshot.means if snapshot else {}
            if "saturation" in means:
                value = means["saturation"]
            else:
                busiest = [
                    means[m] / 100.0 for m in ("cpu_pct", "memory_pct", "disk_pct") if m in means
                ]
                if not busiest:
                    continue
                value = max(busiest)
            found[name] = min(1.0, max(0.0, value))
        return found

    def latency(self, percentile: Literal["p50", "p99"]) -> dict[str, float]:
        """Measured latency (ms) of each node that reports one."""
        found: dict[str, float] = {}
        for name in self.graph.services:
            snapshot = self.snapshot(name)
            means = snapshot.means if snapshot else {}
            for metric in LATENCY_METRICS[percentile]:
                if metric in means:
                    found[name] = max(0.0, means[metric])
                    break
        return found

    def self_latency(self, measured: dict[str, float]) -> dict[str, float]:
        """Time spent in each service's own work: its latency less the slowest dependency's,
        since a caller waits at least that long for it; never below 0."""
        own: dict[str, float] = {}
        for name, value in measured.items():
            waits = [measured.get(d.target, 0.0) for d in self.graph.dependencies(name)]
            own[name] = max(0.0, value - max(waits, default=0.0))
        return own


async def live_topology(
    session: AsyncSession,
    org_id: int,
    simulated: SimulatedTopology | None,
    at_ms: int,
    window_ms: int,
) -> LiveTopology:
    """The org's graph with health, predictions, saturation and latency at `at_ms`."""
    spec, source = await org_spec(session, org_id, simulated)
    fleet = await health_service.fleet_health(
        session, org_id, at_ms, window_ms, extra_metrics=EXTRA_METRICS
    )
    predictions = await health_service.predictions(session, org_id, at_ms)
    return LiveTopology(source, DependencyGraph(spec), fleet, predictions)
