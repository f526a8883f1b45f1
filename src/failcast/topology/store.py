"""An org's declared dependency topology, stored as nodes and edges and read back as a
`TopologySpec` whose edges say they were declared. The graph everyone reads merges it with the
discovered edges (`topology.service.org_spec`)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.models import TopologyEdge, TopologyNode
from failcast.topology.graph import DependencyGraph
from failcast.topology.schemas import TopologySpec


async def save(session: AsyncSession, org_id: int, spec: TopologySpec) -> None:
    """Replace the org's topology with `spec` (the caller commits)."""
    await session.execute(delete(TopologyEdge).where(TopologyEdge.org_id == org_id))
    await session.execute(delete(TopologyNode).where(TopologyNode.org_id == org_id))
    for position, service in enumerate(spec.services):
        session.add(
            TopologyNode(
                org_id=org_id,
                service=service.name,
                position=position,
                kind=service.kind,
                tier=service.tier,
                entry_point=service.entry_point,
                traffic=service.traffic,
            )
        )
        for index, dependency in enumerate(service.depends_on):
            session.add(
                TopologyEdge(
                    org_id=org_id,
                    service=service.name,
                    depends_on=dependency.target,
                    position=index,
                    criticality=dependency.criticality,
                    weight=dependency.weight,
                )
            )
    await session.flush()


async def load(session: AsyncSession, org_id: int) -> TopologySpec:
    """The org's topology; empty when none was declared."""
    nodes = list(
        await session.scalars(
            select(TopologyNode)
            .where(TopologyNode.org_id == org_id)
            .order_by(TopologyNode.position)
        )
    )
    edges: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for edge in await session.scalars(
        select(TopologyEdge)
        .where(TopologyEdge.org_id == org_id)
        .order_by(TopologyEdge.service, TopologyEdge.position)
    ):
        item: dict[str, Any] = {
            "target": edge.depends_on,
            "criticality": edge.criticality,
            "origin": "declared",
        }
        if edge.weight is not None:
            item["weight"] = edge.weight
        edges[edge.service].append(item)
    return TopologySpec.model_validate(
        {
            "services": [
                {
                    "name": node.service,
                    "kind": node.kind,
                    "tier": node.tier,
                    "entry_point": node.entry_point,
                    "traffic": node.traffic,
                    "depends_on": edges.get(node.service, []),
                }
                for node in nodes
            ]
        }
    )


async def graph(session: AsyncSession, org_id: int) -> DependencyGraph:
    """The declared graph alone."""
    return DependencyGraph(await load(session, org_id))
