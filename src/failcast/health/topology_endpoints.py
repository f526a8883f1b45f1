"""The org's dependency graph coloured by health, cascade risk, critical path and blast
radius, with live inputs from stored samples and predictions.

Everything is computed on the org's whole graph, so a service's cascade risk and blast radius
count every dependency; a member restricted to their teams' services is shown those services
only (nodes, items, path steps, affected services) and the edges between them (docs/teams.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth.principal import CanRead
from failcast.deps import SessionDep, SimulatedTopologyDep
from failcast.errors import NotFound, ValidationFailed
from failcast.health.endpoints import AtParam, WindowParam, instant
from failcast.health.service import HORIZONS
from failcast.health.topology import LiveTopology, live_topology
from failcast.kit.responses import errors
from failcast.teams import service as teams
from failcast.timeutil import ms_to_datetime
from failcast.topology.cascade import propagate
from failcast.topology.paths import blast_radii, blast_radius, critical_path
from failcast.topology.responses import (
    STATUS_COLOURS,
    BlastRadiusItem,
    BlastRadiusOut,
    CascadeItem,
    CascadeOut,
    ContributionOut,
    CriticalPathOut,
    GraphOut,
    HealthNode,
    PathStep,
)
from failcast.topology.service import SimulatedTopology

router = APIRouter(prefix="/api/v1/topology", tags=["topology"])


async def _live(
    simulated: SimulatedTopology, session: AsyncSession, org_id: int, at: str | None, window: str
) -> tuple[LiveTopology, int]:
    at_ms, window_ms = instant(at, window)
    return await live_topology(session, org_id, simulated, at_ms, window_ms), at_ms


@router.get("/graph", response_model=GraphOut, operation_id="get_topology_graph")
async def get_graph(
    simulated: SimulatedTopologyDep,
    principal: CanRead,
    session: SessionDep,
    at: AtParam = None,
    window: WindowParam = "5m",
) -> GraphOut:
    """Nodes coloured by health score and call edges (`source` calls `target`), from the
    declared topology, or the simulated fleet's while the simulator is on."""
    live, at_ms = await _live(simulated, session, principal.org_id, at, window)
    seen = await teams.visibility(session, principal)
    predicted = {name: p[24] for name, p in live.predictions.probabilities.items() if 24 in p}
    export = live.graph.export({k: v for k, v in predicted.items() if k in live.graph})
    nodes = []
    for node in (n for n in export.nodes if seen.admits(n.id)):
        snapshot = live.snapshot(node.id)
        status = snapshot.health.status if snapshot else "unknown"
        nodes.append(
            HealthNode(
                **node.model_dump(),
                health_score=snapshot.health.score if snapshot else None,
                health_status=status,
                colour=STATUS_COLOURS[status],
            )
        )
    edges = [e for e in export.edges if seen.admits(e.source) and seen.admits(e.target)]
    return GraphOut(at=ms_to_datetime(at_ms), source=live.source, nodes=nodes, edges=edges)


@router.get("/cascade", response_model=CascadeOut, operation_id="get_topology_cascade")
async def get_cascade(
    simulated: SimulatedTopologyDep,
    principal: CanRead,
    session: SessionDep,
    horizon: Annotated[int, Query(description="Hours: 24, 48 or 72.")] = 24,
    at: AtParam = None,
    window: WindowParam = "5m",
) -> CascadeOut:
    """Cascade risk of every service: its own failure probability (predicted, or read from
    health) carried along dependency edges, raised by saturated dependencies."""
    if horizon not in HORIZONS:
        raise ValidationFailed([{"field": "horizon", "msg": "one of 24, 48 or 72 hours"}])
    live, at_ms = await _live(simulated, session, principal.org_id, at, window)
    seen = await teams.visibility(session, principal)
    own = live.own_probabilities(horizon)
    saturation = live.saturation()
    results = propagate(live.graph, {k: v.value for k, v in own.items()}, saturation)
    items = [
        CascadeItem(
            service=name,
            own_probability=r.own_probability,
            own_source=own[name].source,
            saturation=saturation.get(name),
            probability=r.probability,
            inherited=r.inherited,
            contributors=[
                ContributionOut(
                    dependency=c.dependency,
                    weight=c.weight,
                    dependency_probability=c.dependency_probability,
                    effect=c.effect,
                )
                for c in r.contributors
                if seen.admits(c.dependency)
            ],
            root_path=[step for step in r.root_path if seen.admits(step)],
        )
        for name, r in results.items()
        if seen.admits(name)
    ]
    items.sort(key=lambda i: (-i.probability, i.service))
    return CascadeOut(
        at=ms_to_datetime(at_ms),
        source=live.source,
        horizon_hours=horizon,
        predictions=live.predictions.note or "available",
        services=items,
    )


@router.get(
    "/critical-path",
    response_model=CriticalPathOut,
    operation_id="get_topology_critical_path",
    responses=errors(404),
)
async def get_critical_path(
    simulated: SimulatedTopologyDep,
    principal: CanRead,
    session: SessionDep,
    entry: Annotated[str | None, Query(description="Start here; default: slowest entry.")] = None,
    percentile: Literal["p50", "p99"] = "p50",
    at: AtParam = None,
    window: WindowParam = "5m",
) -> CriticalPathOut:
    """The chain of calls that dominates latency, from measured latencies: each service's
    own share is its latency less its slowest dependency's."""
    live, at_ms = await _live(simulated, session, principal.org_id, at, window)
    seen = await teams.visibility(session, principal)
    if len(live.graph) == 0:
        raise NotFound("the org has no topology and no services yet")
    if entry is not None and (entry not in live.graph or not seen.admits(entry)):
        raise ValidationFailed([{"field": "entry", "msg": f"{entry} is not in the topology"}])
    measured = live.latency(percentile)
    own = live.self_latency(measured)
    path = critical_path(live.graph, own, entry)
    steps = [
        PathStep(
            service=name,
            measured_ms=measured.get(name),
            self_ms=own.get(name, 0.0),
            share=path.share(name),
        )
        for name in path.path
        if seen.admits(name)
    ]
    return CriticalPathOut(
        at=ms_to_datetime(at_ms),
        source=live.source,
        percentile=percentile,
        entry=path.entry,
        path=[name for name in path.path if seen.admits(name)],
        latency_ms=path.latency_ms,
        steps=steps,
        without_latency=sorted(
            n for n in live.graph.services if n not in measured and seen.admits(n)
        ),
    )


@router.get(
    "/blast-radius",
    response_model=BlastRadiusOut,
    operation_id="get_topology_blast_radius",
    responses=errors(404),
)
async def get_blast_radius(
    simulated: SimulatedTopologyDep,
    principal: CanRead,
    session: SessionDep,
    service_name: Annotated[str | None, Query(alias="service")] = None,
    at: AtParam = None,
    window: WindowParam = "5m",
) -> BlastRadiusOut:
    """What fails with a service (or with each one): its dependents, weighted by how likely
    each fails with it, and the share of user traffic lost, largest first."""
    live, at_ms = await _live(simulated, session, principal.org_id, at, window)
    seen = await teams.visibility(session, principal)
    saturation = live.saturation()
    if service_name is not None:
        if service_name not in live.graph or not seen.admits(service_name):
            raise NotFound(f"service {service_name} is not in the topology")
        radii = {service_name: blast_radius(live.graph, service_name, saturation)}
    else:
        radii = blast_radii(live.graph, saturation)
    items = [
        BlastRadiusItem(
            service=r.service,
            affected=[name for name in r.affected if seen.admits(name)],
            count=r.count,
            weighted_count=r.weighted_count,
            traffic_share=r.traffic_share,
            expected_traffic_loss=r.expected_traffic_loss,
        )
        for r in radii.values()
        if seen.admits(r.service)
    ]
    items.sort(key=lambda i: (-i.expected_traffic_loss, -i.weighted_count, i.service))
    return BlastRadiusOut(at=ms_to_datetime(at_ms), source=live.source, services=items)
