"""A small fleet under Prometheus-style names, and a model trained on the simulator's own names,
for the tests that send telemetry through an intake and ask the API for predictions."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from failcast.chaos import Fault, FaultKind, history_matrix
from failcast.chaos.hardness import PLAIN
from failcast.chaos.naming import renamed
from failcast.chaos.signals import SeriesMatrix
from failcast.db.engine import Database
from failcast.predict import registry
from failcast.predict.dataset import build_dataset
from failcast.predict.simulated import simulated_history
from failcast.predict.training import TrainConfig, TrainResult, train

DAYS = 7.5
SERVICES = ("auth", "cache", "database")


@cache
def trained() -> TrainResult:
    """A model of the simulator's own names, 24 h ahead."""
    history = simulated_history(21, 4, seed=3)
    config = TrainConfig(horizons=(24,), use_lstm=False)
    return train(build_dataset(history.fleet, history.incidents, (24,)), config)


def fleet_history(end_s: int, *, leak: bool) -> SeriesMatrix:
    """A week of three services under Prometheus names up to `end_s`; with `leak`, the
    cache's memory climbs for the last 30 hours towards exhaustion about five hours later."""
    faults = (
        [Fault(FaultKind.memory_leak_oom, "cache", end_s - 30 * 3600, 3600, lead_s=35 * 3600)]
        if leak
        else []
    )
    history = history_matrix(
        DAYS, len(SERVICES), 300, seed=21, start=end_s - int(DAYS * 86400), faults=faults,
        organic_rate_per_day=0, hardness=PLAIN,
    )  # fmt: skip
    return renamed(history.matrix, "prometheus")


async def install_model(db: Database, org_id: int, now: datetime) -> None:
    """Register `trained()` for the org and make it the active model."""
    async with db.session() as session:
        row = await registry.register(session, org_id, trained(), source="imported", now=now)
        if row.status != "active":
            await registry.promote(
                session, org_id, row.version, now, force=True, reason="test", actor="test"
            )
        await session.commit()
