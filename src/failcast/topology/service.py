"""Where the org's one dependency graph comes from: the topology the org declared
(PUT /api/v1/topology), the simulated fleet's while the simulator is on (an edge's weight is
the share of the caller's requests that reach the dependency), and the calls seen in metric
labels (`peer_service` and the like), merged; every edge says which (`origin`), and the
catalogue's other services are nodes without edges. The graph coloured by health lives with
health (health/topology.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.models import Organization, Series, Service
from failcast.topology import store as topology_store
from failcast.topology.graph import DependencyGraph
from failcast.topology.merge import merge
from failcast.topology.schemas import Origin, TopologySpec

Source = Literal["declared", "simulated", "labels", "catalog"]
# The simulated fleet's topology for an org, while its simulator is on (chaos.topology).
SimulatedTopology = Callable[[int], TopologySpec]
# The org's one graph (`org_graph` with the simulated topology bound), as services provide it.
OrgTopology = Callable[[AsyncSession, int], Awaitable[DependencyGraph]]


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
    session: AsyncSession, org_id: int, simulated: SimulatedTopology | None
) -> tuple[TopologySpec, Source]:
    """The org's one graph: the declared topology, the simulated fleet's while the simulator is
    on, and the edges seen in metric labels, merged (declared first, see `merge`), with the
    catalogue's other services as lone nodes; and the most trusted source that contributed."""
    declared = await topology_store.load(session, org_id)
    sources: list[tuple[Origin, TopologySpec]] = [("declared", declared)]
    enabled = await session.scalar(
        select(Organization.simulator_enabled).where(Organization.id == org_id)
    )
    if enabled and simulated is not None:
        sources.append(("simulated", simulated(org_id)))
    sources.append(("labels", await label_topology(session, org_id)))
    catalogue = list(
        await session.execute(
            select(Service.name, Service.kind)
            .where(Service.org_id == org_id)
            .order_by(Service.name)
        )
    )
    merged = merge(sources, catalogue)
    source: Source = next((origin for origin, spec in sources if spec.services), "catalog")
    return merged, source


async def org_graph(
    session: AsyncSession, org_id: int, simulated: SimulatedTopology | None
) -> DependencyGraph:
    """The org's one graph, as inhibition, cascade risk and root-cause analysis read it."""
    spec, _ = await org_spec(session, org_id, simulated)
    return DependencyGraph(spec)
