"""The topology page's graph: health nodes and edges, cascade risk and the critical path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TopologyView:
    """Everything the topology page draws: the health graph, each service's cascade risk and
    the critical path, as the topology API answered them."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    cascade: dict[str, float]
    path: tuple[str, ...]


def topology_view(
    graph: Mapping[str, Any],
    cascade: Mapping[str, Any] | None = None,
    critical: Mapping[str, Any] | None = None,
) -> TopologyView:
    risk = {
        str(item["service"]): float(item["probability"])
        for item in (cascade or {}).get("services") or []
    }
    return TopologyView(
        nodes=list(graph.get("nodes") or []),
        edges=list(graph.get("edges") or []),
        cascade=risk,
        path=tuple((critical or {}).get("path") or ()),
    )
