"""Declared dependency topology: services, their kinds and tiers, and whom each one calls.

The same schema validates an API body and a YAML file (`load_topology_yaml`). Edges point from
the caller to its dependency (`checkout -> payments` means checkout calls payments).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from failcast.kit.names import SERVICE_PATTERN
from failcast.kit.yamlsource import custom_error, validate_yaml
from failcast.models.service import ServiceKindName
from failcast.models.topology_edge import Criticality as Criticality

ServiceKind = ServiceKindName
# Where an edge comes from: stated by the org, the simulated fleet's, or seen in metric labels.
Origin = Literal["declared", "simulated", "labels"]

# Share of a dependency's failures that reach the caller: a hard dependency has no fallback,
# a soft one degrades gracefully most of the time, an optional one is almost never on the path.
CRITICALITY_WEIGHT: dict[str, float] = {"hard": 1.0, "soft": 0.3, "optional": 0.05}


class DependencySpec(BaseModel):
    """One call edge from a service to a dependency."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    target: str = Field(pattern=SERVICE_PATTERN, max_length=200)
    criticality: Criticality = "hard"
    weight: float | None = Field(
        default=None, ge=0.0, le=1.0, description="overrides the weight of the criticality"
    )
    origin: Origin | None = Field(
        default=None,
        description="where the edge comes from (declared, simulated or labels); set by "
        "Failcast when it answers, ignored when a topology is stored",
    )

    @property
    def base_weight(self) -> float:
        """Probability that a failure of the dependency fails the caller, before saturation."""
        return CRITICALITY_WEIGHT[self.criticality] if self.weight is None else self.weight


class ServiceSpec(BaseModel):
    """A service, ML model or data pipeline and the dependencies it calls."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(pattern=SERVICE_PATTERN, max_length=200)
    kind: ServiceKind = "microservice"
    tier: int = Field(default=2, ge=1, le=3, description="1 is the most important")
    entry_point: bool = Field(default=False, description="receives traffic from users directly")
    traffic: float = Field(
        default=0.0, ge=0.0, description="user requests per second entering here"
    )
    depends_on: tuple[DependencySpec, ...] = ()

    @field_validator("depends_on", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `depends_on: [db, cache]` is the common case: hard dependencies named by a string.
        if isinstance(value, list | tuple):
            return [{"target": item} if isinstance(item, str) else item for item in value]
        return value

    @model_validator(mode="after")
    def _edges_are_distinct(self) -> ServiceSpec:
        seen: set[str] = set()
        for index, dependency in enumerate(self.depends_on):
            if dependency.target == self.name:
                raise custom_error(
                    ("depends_on", index, "target"), f"{self.name} cannot depend on itself"
                )
            if dependency.target in seen:
                raise custom_error(
                    ("depends_on", index, "target"),
                    f"{self.name} lists dependency {dependency.target} twice",
                )
            seen.add(dependency.target)
        return self


class TopologySpec(BaseModel):
    """The whole dependency graph of an organisation, as declared."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    services: tuple[ServiceSpec, ...] = ()

    @model_validator(mode="after")
    def _graph_is_well_formed(self) -> TopologySpec:
        index_of: dict[str, int] = {}
        for i, service in enumerate(self.services):
            if service.name in index_of:
                raise custom_error(
                    ("services", i, "name"),
                    f"service {service.name} is declared twice"
                    f" (first as item {index_of[service.name]})",
                )
            index_of[service.name] = i
        for i, service in enumerate(self.services):
            for j, dependency in enumerate(service.depends_on):
                if dependency.target not in index_of:
                    raise custom_error(
                        ("services", i, "depends_on", j, "target"),
                        f"{service.name} depends on {dependency.target}, which is not declared",
                    )
        cycle = find_cycle(self)
        if cycle is not None:
            names, (i, j) = cycle
            raise custom_error(
                ("services", i, "depends_on", j, "target"),
                "dependency cycle: " + " -> ".join(names),
            )
        return self


def find_cycle(spec: TopologySpec) -> tuple[list[str], tuple[int, int]] | None:
    """The first dependency cycle found, as names (first repeated last) and the closing edge.

    The closing edge is given as (service index, dependency index) so a caller can point at it.
    Depth-first search in declaration order, so the answer is the same on every run.
    """
    services = {service.name: (i, service) for i, service in enumerate(spec.services)}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for start in services:
        if state.get(start):
            continue
        path: list[str] = [start]
        cursors: list[int] = [0]
        state[start] = 1
        while path:
            name = path[-1]
            index, service = services[name]
            position = cursors[-1]
            if position == len(service.depends_on):
                state[name] = 2
                path.pop()
                cursors.pop()
                continue
            cursors[-1] += 1
            target = service.depends_on[position].target
            if target not in services:
                continue
            if state.get(target) == 1:
                loop = [*path[path.index(target) :], target]
                return loop, (index, position)
            if not state.get(target):
                state[target] = 1
                path.append(target)
                cursors.append(0)
    return None


def load_topology_yaml(text: str, source: str = "topology.yaml") -> TopologySpec:
    """Parse and validate a topology file; errors name the line and the key."""
    return validate_yaml(TopologySpec, text, source)
