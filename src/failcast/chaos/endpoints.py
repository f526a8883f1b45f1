from __future__ import annotations

from functools import partial

from fastapi import APIRouter, status
from sqlalchemy import select

from failcast.auth.principal import CanAdmin, CanRead, CanWrite
from failcast.chaos.demo import BACKFILL_TASK, has_samples
from failcast.chaos.experiment_runs import start_experiment
from failcast.chaos.experiments import run_offline
from failcast.chaos.faults import FaultError, FaultKind, applicable
from failcast.chaos.schemas import (
    ExperimentIn,
    ExperimentOut,
    FaultOut,
    FleetOut,
    FleetService,
    InjectIn,
    SimulatorIn,
)
from failcast.db.transactions import after_commit
from failcast.deps import PathId, RunnerDep, SessionDep, SimulatorDep
from failcast.errors import Conflict, NotFound, ValidationFailed
from failcast.kit.responses import errors
from failcast.models import ChaosExperiment, ExperimentStatus, Organization, Verdict
from failcast.teams import service as teams

router = APIRouter(prefix="/api/v1/chaos", tags=["chaos"])


@router.get("/fleet", response_model=FleetOut, operation_id="get_fleet")
async def get_fleet(principal: CanRead, session: SessionDep, simulator: SimulatorDep) -> FleetOut:
    """The org's simulated fleet: services, their dependencies, metrics and possible faults."""
    org = await session.get_one(Organization, principal.org_id)
    spec = simulator.new_fleet(principal.org_id).spec
    return FleetOut(
        enabled=org.simulator_enabled,
        services=[
            FleetService(
                name=service.name,
                kind=service.kind.value,
                dependencies=[d.name for d in service.dependencies],
                metrics=list(service.metrics),
                fault_kinds=[k for k in FaultKind if applicable(k, service, spec)],
            )
            for service in spec.services
        ],
    )


@router.put(
    "/simulator", response_model=FleetOut, operation_id="set_simulator", responses=errors(409)
)
async def set_simulator(
    body: SimulatorIn,
    principal: CanAdmin,
    session: SessionDep,
    simulator: SimulatorDep,
    runner: RunnerDep,
) -> FleetOut:
    """Switch the simulated fleet on or off for the org, optionally with days of history."""
    history = body.history_days if body.enabled else 0
    if history > 0 and await has_samples(session, principal.org_id):
        raise Conflict(
            "history_days: the organisation already has samples; simulated history is only"
            " added to an empty one (start the fleet without history_days)"
        )
    await simulator.set_enabled(session, principal.org_id, body.enabled)
    if history > 0:
        # The backfill reads the org's services: submit it once they are committed.
        after_commit(
            session, partial(runner.submit, BACKFILL_TASK, org_id=principal.org_id, days=history)
        )
    fleet = await get_fleet(principal, session, simulator)
    fleet.history_days_queued = history
    return fleet


@router.post(
    "/inject",
    response_model=FaultOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="inject_fault",
    responses=errors(409),
)
async def inject(
    body: InjectIn, principal: CanWrite, session: SessionDep, simulator: SimulatorDep
) -> FaultOut:
    """Inject a fault into a simulated service; it recovers by itself after `duration`."""
    await teams.require_visible(session, principal, body.target_service, "service")
    row = await simulator.inject(
        session,
        principal.org_id,
        kind=body.chaos_type.value,
        target=body.target_service,
        duration_s=body.duration,
        intensity=body.intensity,
        lead_s=body.lead,
    )
    return FaultOut.model_validate(row)


@router.get("/faults", response_model=list[FaultOut], operation_id="list_faults")
async def list_faults(
    principal: CanRead, session: SessionDep, simulator: SimulatorDep, active: bool = True
) -> list[FaultOut]:
    """Faults acting now (or, with `active=false`, the most recent 500)."""
    rows = await simulator.faults(session, principal.org_id, active_only=active)
    seen = await teams.visibility(session, principal)
    return [FaultOut.model_validate(row) for row in rows if seen.admits(row.target)]


@router.delete("/faults/{fault_id}", response_model=FaultOut, operation_id="stop_fault")
async def stop_fault(
    fault_id: PathId, principal: CanWrite, session: SessionDep, simulator: SimulatorDep
) -> FaultOut:
    """End one active fault now."""
    seen = await teams.visibility(session, principal)
    stopped = await simulator.stop(session, principal.org_id, fault_id=fault_id, seen=seen)
    if not stopped:
        raise NotFound("no active fault with that id")
    return FaultOut.model_validate(stopped[0])


@router.post("/reset", response_model=list[FaultOut], operation_id="reset_chaos")
async def reset(
    principal: CanWrite, session: SessionDep, simulator: SimulatorDep
) -> list[FaultOut]:
    """End every active fault now (of the caller's teams' services, in an org that restricts
    members to them); returns those that were stopped."""
    seen = await teams.visibility(session, principal)
    stopped = await simulator.stop(session, principal.org_id, seen=seen)
    return [FaultOut.model_validate(row) for row in stopped]


@router.post(
    "/experiments",
    response_model=ExperimentOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="run_experiment",
    responses=errors(409),
)
async def run_experiment(
    body: ExperimentIn, principal: CanWrite, session: SessionDep, simulator: SimulatorDep
) -> ExperimentOut:
    """Start an experiment: observe, inject its method, roll back, observe again, judge.

    The journal is written once the last observation window has passed. With `dry_run` the
    journal is computed at once on a copy of the fleet and nothing is stored or injected.
    """
    if body.dry_run:
        fleet = simulator.new_fleet(principal.org_id)
        start = simulator.clock()
        try:
            journal = run_offline(
                fleet,
                body.experiment,
                start,
                observe_s=body.observe_seconds,
                settle_s=body.settle_seconds,
            )
        except FaultError as exc:
            raise ValidationFailed([{"field": "experiment", "msg": str(exc)}]) from None
        end = start + body.experiment.method_duration_s
        return ExperimentOut(
            id=None,
            title=body.experiment.title,
            status=ExperimentStatus(journal["status"]),
            verdict=Verdict(journal["verdict"]),
            observe_from=start - body.observe_seconds,
            method_start=start,
            method_end=end,
            after_from=end + body.settle_seconds,
            after_to=end + body.settle_seconds + body.observe_seconds,
            journal=journal,
        )
    row = await start_experiment(
        simulator,
        session,
        principal.org_id,
        body.experiment,
        observe_s=body.observe_seconds,
        settle_s=body.settle_seconds,
    )
    return ExperimentOut.model_validate(row)


@router.get("/experiments", response_model=list[ExperimentOut], operation_id="list_experiments")
async def list_experiments(principal: CanRead, session: SessionDep) -> list[ExperimentOut]:
    """The org's experiments, newest first."""
    rows = await session.scalars(
        select(ChaosExperiment)
        .where(ChaosExperiment.org_id == principal.org_id)
        .order_by(ChaosExperiment.id.desc())
        .limit(200)
    )
    return [ExperimentOut.model_validate(row) for row in rows]


@router.get(
    "/experiments/{experiment_id}", response_model=ExperimentOut, operation_id="get_experiment"
)
async def get_experiment(
    experiment_id: PathId, principal: CanRead, session: SessionDep
) -> ExperimentOut:
    """One experiment with its journal once it is finished."""
    row = await session.scalar(
        select(ChaosExperiment).where(
            ChaosExperiment.id == experiment_id, ChaosExperiment.org_id == principal.org_id
        )
    )
    if row is None:
        raise NotFound("experiment not found")
    return ExperimentOut.model_validate(row)
