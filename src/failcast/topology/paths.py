"""Critical path (the dependency chain that dominates latency) and blast radius of a failure."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from failcast.topology.cascade import DEFAULT_SATURATION_KNEE, edge_weight
from failcast.topology.graph import DependencyGraph


@dataclass(frozen=True, slots=True)
class CriticalPath:
    """The slowest chain of calls from an entry point, with each step's own latency."""

    entry: str
    path: tuple[str, ...]
    self_latency_ms: tuple[float, ...]
    latency_ms: float

    def share(self, service: str) -> float:
        """Fraction of the path's latency spent in `service` itself."""
        if self.latency_ms == 0.0 or service not in self.path:
            return 0.0
        return self.self_latency_ms[self.path.index(service)] / self.latency_ms


def critical_path(
    graph: DependencyGraph,
    self_latency_ms: Mapping[str, float],
    entry: str | None = None,
) -> CriticalPath:
    """Longest path by summed self latency from `entry` (or from the slowest entry point).

    Self latency is the time a service spends in its own work, excluding waits on its
    dependencies; a service without a figure counts as 0 ms. Calls are taken as sequential,
    the worst case for a request, so the result is an upper bound on the chain's latency.
    """
    for name, value in self_latency_ms.items():
        if name not in graph:
            raise ValueError(f"unknown service {name!r}")
        if not (math.isfinite(value) and value >= 0.0):
            raise ValueError(f"{name}: latency must be a finite number >= 0, got {value!r}")
    if entry is not None and entry not in graph:
        raise ValueError(f"unknown service {entry!r}")
    if len(graph) == 0:
        raise ValueError("the topology has no services")
    # best[n] = self(n) + max over dependencies d of best[d]; dependencies come first in
    # topological order, so one pass suffices. Ties go to the name that sorts first.
    best: dict[str, float] = {}
    step: dict[str, str | None] = {}
    for name in graph.topological_order():
        chosen: str | None = None
        chosen_cost = 0.0
        for target in sorted(d.target for d in graph.dependencies(name)):
            if chosen is None or best[target] > chosen_cost:
                chosen, chosen_cost = target, best[target]
        best[name] = self_latency_ms.get(name, 0.0) + chosen_cost
        step[name] = chosen
    starts = [entry] if entry is not None else sorted(graph.entry_points())
    start = max(starts, key=best.__getitem__)  # the first of equals: names are sorted
    path: list[str] = [start]
    while (following := step[path[-1]]) is not None:
        path.append(following)
    latencies = tuple(self_latency_ms.get(name, 0.0) for name in path)
    return CriticalPath(start, tuple(path), latencies, best[start])


@dataclass(frozen=True, slots=True)
class BlastRadius:
    """What fails with a service: who depends on it and how much user traffic that carries."""

    service: str
    affected: tuple[str, ...]  # transitive dependents, sorted
    weighted_count: float  # sum over affected of P(fails | service is down)
    traffic_share: float  # share of user traffic whose entry point reaches the service
    expected_traffic_loss: float  # share of user traffic expected to fail while it is down

    @property
    def count(self) -> int:
        return len(self.affected)


def blast_radius(
    graph: DependencyGraph,
    service: str,
    saturation: Mapping[str, float] | None = None,
    *,
    knee: float = DEFAULT_SATURATION_KNEE,
) -> BlastRadius:
    """Consequences of `service` being down, using the cascade model with P(service) = 1.

    User traffic is the `traffic` of the entry points; when none is declared every entry point
    counts equally.
    """
    if service not in graph:
        raise ValueError(f"unknown service {service!r}")
    return _Radii(graph, saturation or {}, knee).of(service)


def blast_radii(
    graph: DependencyGraph,
    saturation: Mapping[str, float] | None = None,
    *,
    knee: float = DEFAULT_SATURATION_KNEE,
) -> dict[str, BlastRadius]:
    """Blast radius of every service, in topological order."""
    radii = _Radii(graph, saturation or {}, knee)
    return {name: radii.of(name) for name in graph.topological_order()}


class _Radii:
    """Shared precomputation: edge weights, topological positions and entry traffic."""

    def __init__(
        self, graph: DependencyGraph, saturation: Mapping[str, float], knee: float
    ) -> None:
        for name, value in saturation.items():
            if name not in graph:
                raise ValueError(f"unknown service {name!r}")
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name}: saturation {value!r} is not in [0, 1]")
        self.graph = graph
        self.position = {name: i for i, name in enumerate(graph.topological_order())}
        self.weights = {
            (name, d.target): edge_weight(d.base_weight, saturation.get(d.target, 0.0), knee)
            for name in graph.services
            for d in graph.dependencies(name)
        }
        entries = graph.entry_points()
        traffic = {name: graph.services[name].traffic for name in entries}
        if sum(traffic.values()) == 0.0:
            traffic = dict.fromkeys(entries, 1.0)
        self.traffic = traffic
        self.total_traffic = sum(traffic.values())

    def of(self, service: str) -> BlastRadius:
        # The cascade formula with P(service) = 1 and no other own failures: only the
        # service's dependents can be non-zero, so only they are visited, in topological order.
        affected = self.graph.dependents(service)
        probability = {service: 1.0}
        for name in sorted(affected, key=self.position.__getitem__):
            survive = 1.0
            for dependency in self.graph.dependencies(name):
                upstream = probability.get(dependency.target, 0.0)
                survive *= 1.0 - self.weights[(name, dependency.target)] * upstream
            probability[name] = 1.0 - survive
        weighted = sum((probability[name] for name in affected), 0.0)
        total = self.total_traffic
        share = sum(t for name, t in self.traffic.items() if name in probability) / total
        loss = sum(t * probability.get(name, 0.0) for name, t in self.traffic.items()) / total
        return BlastRadius(service, tuple(sorted(affected)), weighted, share, loss)
