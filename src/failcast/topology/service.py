"""The org's dependency graph with live inputs: health per node, own failure probabilities,
saturation and latency, read from stored samples and predictions.

Where the graph comes from: one graph merged from the topology the org declared
(PUT /api/v1/topology), the simulated fleet's while the simulator is on (an edge's weight is
the share of the caller's requests that reach the dependency), and the calls seen in metric
labels (`peer_service` and the like); every edge says which (`origin`), and the catalogue's
other services are nodes without edges.

Own failure probability of a service, for the cascade: the active model's newest prediction
for the horizon when there is one; otherwise from health, ((100 - score) / 100)^2, so a
healthy 90 gives 0.01, a warning 70 gives 0.09, a critical 50 gives 0.25 and 0 gives 1;
a service with neither counts as 0.

Saturation: the mean of the `saturation` metric (in [0, 1]); without it, the busiest of CPU,
memory and disk (percentages / 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.chaos.fleet import FleetSpec, Kind
from failcast.chaos.runtime import Simulator
from failcast.health import repository as health_repository
from failcast.health import service as health_service
from failcast.models import Organization, Series, Service
from failcast.topology import store as topology_store
from failcast.topology.graph import DependencyGraph
from failcast.topology.merge import merge
from failcast.topology.schemas import Origin, TopologySpec

Source = Literal["declared", "simulated", "labels", "catalog"]
OwnSource = Literal["prediction", "health", "none"]
EXTRA_METRICS = ("saturation", "latency_p50_ms", "latency_p99_ms", "latency_ms")
LATENCY_METRICS: dict[str, tuple[str, ...]] = {
    "p50": ("latency_p50_ms", "latency_ms"),
    "p99": ("latency_p99_ms", "latency_ms"),
}


def fleet_topology(spec: FleetSpec) -> TopologySpec:
    """The simulated fleet as a declared topology: uncalled microservices are entry points
    carrying their request rate."""
    called = {d.name for s in spec.services for d in s.dependencies}
    services: list[dict[str, Any]] = []
    for s in spec.services:
        entry = s.kind is Kind.microservice and s.name not in called
        services.append(
            {
                "name": s.name,
                "kind": s.kind.value,
                "entry_point": entry,
                "traffic": s.rps if entry else 0.0,
                "depends_on": [
                    {"target": d.name, "criticality": "hard", "weight": d.weight}
                    for d in s.dependencies
                ],
            }
        )
    return TopologySpec.model_validate({"services": services})


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


# Metric labels that name the service a series' service calls (OpenTelemetry's `peer.service`
# arrives as `peer_service`; Istio and Linkerd name the destination).
CALL_LABELS = ("peer_service", "destination_service", "upstream_service", "callee")


async def label_topology(session: AsyncSession, org_id: int) -> TopologySpec:
    """Edges seen in metric labels: a series of service A labelled `peer_service=B` (or one of
    `CALL_LABELS`) says A calls B, when B is one of the org's services."""
    names = set(await session.scalars(select(Service.name).where(Service.org_id == org_id)))
    hints = or_(*(Series.labels_key.contains(label) for label in CALL_LABELS))
    rows = await session.execute(
        select(Service.name, Series.labels)
        .join(Service, Service.id == Series.service_id)
        .where(Series.org_id == org_id, hints)
    )
    edges: dict[str, set[str]] = {}
    for caller, labels in rows:
        for label in CALL_LABELS:
            callee = labels.get(label)
            if callee and callee != caller and callee in names:
                edges.setdefault(caller, set()).add(callee)
    involved = sorted(set(edges) | {c for targets in edges.values() for c in targets})
    return TopologySpec.model_validate(
        {
            "services": [
                {"name": name, "depends_on": sorted(edges.get(name, ()))} for name in involved
            ]
        }
    )


async def org_spec(
    session: AsyncSession, org_id: int, simulator: Simulator | None
) -> tuple[TopologySpec, Source]:
    """The org's one graph: the declared topology, the simulated fleet's while the simulator is
    on, and the edges seen in metric labels, merged (declared first, see `merge`), with the
    catalogue's other services as lone nodes; and the most trusted source that contributed."""
    declared = await topology_store.load(session, org_id)
    sources: list[tuple[Origin, TopologySpec]] = [("declared", declared)]
    enabled = await session.scalar(
        select(Organization.simulator_enabled).where(Organization.id == org_id)
    )
    if enabled and simulator is not None:
        sources.append(("simulated", fleet_topology(simulator.new_fleet(org_id).spec)))
    sources.append(("labels", await label_topology(session, org_id)))
    catalogue = [(s.name, s.kind) for s in await health_repository.services(session, org_id)]
    merged = merge(sources, catalogue)
    source: Source = next((origin for origin, spec in sources if spec.services), "catalog")
    return merged, source


async def org_graph(
    session: AsyncSession, org_id: int, simulator: Simulator | None
) -> DependencyGraph:
    """The org's one graph, as inhibition, cascade risk and root-cause analysis read it."""
    spec, _ = await org_spec(session, org_id, simulator)
    return DependencyGraph(spec)


async def live_topology(
    session: AsyncSession,
    org_id: int,
    simulator: Simulator | None,
    at_ms: int,
    window_ms: int,
) -> LiveTopology:
    """The org's graph with health, predictions, saturation and latency at `at_ms`."""
    spec, source = await org_spec(session, org_id, simulator)
    fleet = await health_service.fleet_health(
        session, org_id, at_ms, window_ms, extra_metrics=EXTRA_METRICS
    )
    predictions = await health_service.predictions(session, org_id, at_ms)
    return LiveTopology(source, DependencyGraph(spec), fleet, predictions)
