"""One graph from several sources: the declared topology, the simulated fleet's and the edges
seen in metric labels, each edge keeping where it came from.

Sources are taken in order of trust (declared first). A service keeps the attributes (kind,
tier, entry point, traffic) of the first source that lists it; an edge the attributes of the
first source that has it. An edge that would close a cycle with the edges already taken is
left out: a graph of calls has no cycle, and the more trusted source wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from failcast.topology.schemas import Origin, TopologySpec


def _reaches(edges: Mapping[str, list[str]], start: str, goal: str) -> bool:
    seen = {start}
    stack = [start]
    while stack:
        current = stack.pop()
        if current == goal:
            return True
        for nxt in edges.get(current, []):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return False


def merge(
    sources: Sequence[tuple[Origin, TopologySpec]],
    services: Iterable[tuple[str, str]] = (),
) -> TopologySpec:
    """The union of `sources` (most trusted first), plus catalogue `services` (name, kind)
    that no source lists, without edges."""
    nodes: dict[str, dict[str, Any]] = {}
    deps: dict[str, list[dict[str, Any]]] = {}
    adjacency: dict[str, list[str]] = {}
    for origin, spec in sources:
        for service in spec.services:
            if service.name not in nodes:
                nodes[service.name] = {
                    "name": service.name,
                    "kind": service.kind,
                    "tier": service.tier,
                    "entry_point": service.entry_point,
                    "traffic": service.traffic,
                }
                deps[service.name] = []
        for service in spec.services:
            for dependency in service.depends_on:
                taken = adjacency.setdefault(service.name, [])
                if dependency.target in taken:
                    continue
                if _reaches(adjacency, dependency.target, service.name):
                    continue  # would close a cycle with more trusted edges
                taken.append(dependency.target)
                edge: dict[str, Any] = {
                    "target": dependency.target,
                    "criticality": dependency.criticality,
                    "origin": origin,
                }
                if dependency.weight is not None:
                    edge["weight"] = dependency.weight
                deps[service.name].append(edge)
    for name, kind in services:
        if name not in nodes:
            nodes[name] = {"name": name, "kind": kind}
            deps[name] = []
    return TopologySpec.model_validate(
        {"services": [{**node, "depends_on": deps[name]} for name, node in nodes.items()]}
    )
