"""The dependency graph built from a validated `TopologySpec`, and its JSON export."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from failcast.topology.schemas import (
    Criticality,
    DependencySpec,
    Origin,
    ServiceKind,
    ServiceSpec,
    TopologySpec,
)


class GraphNode(BaseModel):
    """A service as the graph API shows it."""

    model_config = ConfigDict(frozen=True)

    id: str
    kind: ServiceKind
    tier: int
    entry_point: bool
    traffic: float
    failure_probability: float | None = None


class GraphEdge(BaseModel):
    """A call edge: `source` calls `target`."""

    model_config = ConfigDict(frozen=True)

    source: str
    target: str
    criticality: Criticality
    weight: float
    origin: Origin | None = Field(
        default=None, description="where the edge comes from: declared, simulated or labels"
    )


class GraphExport(BaseModel):
    """Nodes and edges for a graph view."""

    model_config = ConfigDict(frozen=True)

    nodes: list[GraphNode]
    edges: list[GraphEdge]


class DependencyGraph:
    """Adjacency in both directions over an acyclic, validated topology."""

    def __init__(self, spec: TopologySpec) -> None:
        self.spec = spec
        self.services: dict[str, ServiceSpec] = {s.name: s for s in spec.services}
        callers: dict[str, list[str]] = {name: [] for name in self.services}
        for service in spec.services:
            for dependency in service.depends_on:
                callers[dependency.target].append(service.name)
        self._callers = {name: tuple(sorted(names)) for name, names in callers.items()}
        self._order = self._topological_order()

    def __contains__(self, name: object) -> bool:
        return name in self.services

    def __len__(self) -> int:
        return len(self.services)

    def dependencies(self, name: str) -> tuple[DependencySpec, ...]:
        """The edges leaving `name` (whom it calls)."""
        return self.services[name].depends_on

    def callers(self, name: str) -> tuple[str, ...]:
        """Services that call `name` directly, sorted by name."""
        return self._callers[name]

    def topological_order(self) -> list[str]:
        """Every service after all of its dependencies (leaves such as databases first)."""
        return list(self._order)

    def entry_points(self) -> list[str]:
        """Declared entry points, or, when none is declared, the services nobody calls."""
        declared = [s.name for s in self.spec.services if s.entry_point]
        if declared:
            return declared
        return [s.name for s in self.spec.services if not self._callers[s.name]]

    def dependents(self, name: str) -> set[str]:
        """Every service that depends on `name`, directly or through others."""
        seen: set[str] = set()
        stack = list(self._callers[name])
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            stack.extend(self._callers[current])
        return seen

    def export(self, failure_probability: Mapping[str, float] | None = None) -> GraphExport:
        """Nodes and edges in declaration order, optionally with each node's P(failure)."""
        probabilities = failure_probability or {}
        entries = set(self.entry_points())
        nodes = [
            GraphNode(
                id=s.name,
                kind=s.kind,
                tier=s.tier,
                entry_point=s.name in entries,
                traffic=s.traffic,
                failure_probability=probabilities.get(s.name),
            )
            for s in self.spec.services
        ]
        edges = [
            GraphEdge(
                source=s.name,
                target=d.target,
                criticality=d.criticality,
                weight=d.base_weight,
                origin=d.origin,
            )
            for s in self.spec.services
            for d in s.depends_on
        ]
        return GraphExport(nodes=nodes, edges=edges)

    def _topological_order(self) -> list[str]:
        # Kahn's algorithm on "dependency before caller"; ties keep declaration order so the
        # result is stable. The spec validator has already refused cycles.
        remaining = {name: len(s.depends_on) for name, s in self.services.items()}
        order: list[str] = []
        ready = [s.name for s in self.spec.services if remaining[s.name] == 0]
        position = {s.name: i for i, s in enumerate(self.spec.services)}
        while ready:
            ready.sort(key=position.__getitem__)
            name = ready.pop(0)
            order.append(name)
            for caller in self._callers[name]:
                remaining[caller] -= 1
                if remaining[caller] == 0:
                    ready.append(caller)
        return order
