"""Chaos experiments as the simulator runs them: start one (its faults become rows the fleet
replays), roll its method back when it ends, and judge it against its steady-state
hypothesis from the samples observed before, during and after."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.chaos.experiments import Experiment, evaluate
from failcast.chaos.faults import FaultError
from failcast.chaos.rows import fault_from_row
from failcast.errors import ValidationFailed
from failcast.models import (
    ChaosExperiment,
    ChaosFault,
    ExperimentStatus,
    Series,
    Service,
    Verdict,
)
from failcast.store.ranges import Aggregation
from failcast.store.samples import read_range

if TYPE_CHECKING:
    from failcast.chaos.runtime import Simulator

log = logging.getLogger("failcast.chaos")


async def start_experiment(
    simulator: Simulator,
    session: AsyncSession,
    org_id: int,
    experiment: Experiment,
    *,
    observe_s: float,
    settle_s: float,
    now: float | None = None,
) -> ChaosExperiment:
    await simulator.require_enabled(session, org_id)
    fleet = await simulator.fleet(session, org_id)
    now = simulator.clock() if now is None else now
    try:
        experiment.check(fleet.spec)
    except FaultError as exc:
        raise ValidationFailed([{"field": "experiment", "msg": str(exc)}]) from None
    method_end = now + experiment.method_duration_s
    row = ChaosExperiment(
        org_id=org_id,
        title=experiment.title,
        spec=experiment.model_dump(mode="json", by_alias=True),
        observe_from=now - observe_s,
        method_start=now,
        method_end=method_end,
        after_from=method_end + settle_s,
        after_to=method_end + settle_s + observe_s,
    )
    session.add(row)
    await session.flush()
    for fault in experiment.faults(now):
        session.add(
            ChaosFault(
                org_id=org_id,
                experiment_id=row.id,
                kind=fault.kind.value,
                target=fault.target,
                start=fault.start,
                duration_s=fault.duration_s,
                lead_s=fault.lead_s,
                intensity=fault.intensity,
            )
        )
    await session.flush()
    await simulator.sync(session, org_id, fleet)
    return row


async def _observe(
    simulator: Simulator,
    session: AsyncSession,
    org_id: int,
    experiment: Experiment,
    start: float,
    end: float,
) -> dict[tuple[str, str], list[float]]:
    wanted = {(p.service, p.metric) for p in experiment.steady_state_hypothesis.probes}
    rows = await session.execute(
        select(Series.id, Service.name, Series.metric)
        .join(Service, Service.id == Series.service_id)
        .where(Series.org_id == org_id, Series.metric.in_({m for _, m in wanted}))
    )
    ids = {series_id: (name, metric) for series_id, name, metric in rows}
    ids = {k: v for k, v in ids.items() if v in wanted}
    points = await read_range(
        session,
        list(ids),
        int(start * 1000),
        int(end * 1000),
        step_ms=None,
        agg=Aggregation.avg,
        limit=simulator.settings.max_query_points,
    )
    observed: dict[tuple[str, str], list[float]] = {key: [] for key in wanted}
    for series_id, key in ids.items():
        observed[key] += [p.value for p in points[series_id]]
    return observed


async def advance_experiments(
    simulator: Simulator, session: AsyncSession, org_id: int, now: float
) -> None:
    """Roll back experiments whose method has ended, and judge those that are over."""
    running = list(
        await session.scalars(
            select(ChaosExperiment).where(
                ChaosExperiment.org_id == org_id, ChaosExperiment.status == ExperimentStatus.running
            )
        )
    )
    for row in running:
        experiment = Experiment.model_validate(row.spec)
        if now >= row.method_end and not row.rolled_back:
            for rollback in experiment.rollbacks:
                await simulator.stop(
                    session,
                    org_id,
                    experiment_id=row.id,
                    target=rollback.target,
                    now=row.method_end,
                )
            row.rolled_back = True
            await session.flush()
        if now < row.after_to:
            continue
        faults = [
            f
            for f in map(
                fault_from_row,
                await session.scalars(select(ChaosFault).where(ChaosFault.experiment_id == row.id)),
            )
            if f is not None
        ]
        journal = evaluate(
            experiment,
            await _observe(
                simulator, session, org_id, experiment, row.observe_from, row.method_start
            ),
            await _observe(
                simulator, session, org_id, experiment, row.method_start, row.method_end
            ),
            await _observe(simulator, session, org_id, experiment, row.after_from, row.after_to),
            started_at=row.method_start,
            ended_at=row.after_to,
            faults=faults,
        )
        row.journal = journal
        row.status = ExperimentStatus(journal["status"])
        row.verdict = Verdict(journal["verdict"])
        await session.flush()
        log.info("experiment finished", extra={"experiment": row.id, "verdict": row.verdict})
