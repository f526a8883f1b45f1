"""The simulated fleet as a topology source: while an org's simulator is on, its fleet's call
graph is merged into the org's one dependency graph (topology.service.org_spec)."""

from __future__ import annotations

from typing import Any

from failcast.chaos.fleet import FleetSpec, Kind
from failcast.topology.schemas import TopologySpec


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
