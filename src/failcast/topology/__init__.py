"""Dependency topology: declared graph, cascade risk, critical path and blast radius."""

from failcast.kit.yamlsource import YamlConfigError, YamlProblem
from failcast.topology.cascade import CascadeResult, Contribution, edge_weight, propagate
from failcast.topology.graph import DependencyGraph, GraphEdge, GraphExport, GraphNode
from failcast.topology.paths import (
    BlastRadius,
    CriticalPath,
    blast_radii,
    blast_radius,
    critical_path,
)
from failcast.topology.schemas import (
    CRITICALITY_WEIGHT,
    DependencySpec,
    ServiceSpec,
    TopologySpec,
    find_cycle,
    load_topology_yaml,
)

__all__ = [
    "CRITICALITY_WEIGHT",
    "BlastRadius",
    "CascadeResult",
    "Contribution",
    "CriticalPath",
    "DependencyGraph",
    "DependencySpec",
    "GraphEdge",
    "GraphExport",
    "GraphNode",
    "ServiceSpec",
    "TopologySpec",
    "YamlConfigError",
    "YamlProblem",
    "blast_radii",
    "blast_radius",
    "critical_path",
    "edge_weight",
    "find_cycle",
    "load_topology_yaml",
    "propagate",
]
