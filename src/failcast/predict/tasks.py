"""Background work of the prediction domain: periodic scoring and matching, scheduled
retraining, and the failure-probability signal alert rules read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from failcast.alerting.signals import Factor, Signal, SignalRequest
from failcast.db.engine import Database
from failcast.jobs.runner import OrgJob
from failcast.models import ModelStatus, ModelVersion
from failcast.predict import repository, service, training_jobs
from failcast.timeutil import now_ms

SCORE_TASK = "predict.score"
RETRAIN_TASK = "predict.retrain"
TRAIN_TASK = "predict.train"
SCORE_SECONDS = 15 * 60.0
RETRAIN_SECONDS = 7 * 24 * 3600.0


class PredictionJobs:
    """The task functions the runner calls; each opens its own sessions."""

    def __init__(self, database: Database, cache: service.ModelCache) -> None:
        self.database = database
        self.cache = cache

    async def orgs(self) -> list[int]:
        """Orgs with a live model: the ones scored and retrained."""
        async with self.database.session() as session:
            return await repository.org_ids_with_models(session, ModelStatus.active)

    async def score_org(self, org_id: int, now: int) -> int:
        """Score the org's services at `now`, then match its due predictions; rows stored."""
        async with self.database.session() as session:
            stored = await service.score_org(session, org_id, now, self.cache)
            await service.resolve_org(session, org_id, datetime.fromtimestamp(now / 1000, UTC))
        return stored

    async def score(self, now: int | None = None) -> int:
        """Score every org that has a live model; rows stored."""
        at = now if now is not None else now_ms()
        return sum([await self.score_org(org_id, at) for org_id in await self.orgs()])

    async def retrain_org(self, org_id: int, now: int) -> None:
        await self.train(org_id=org_id, now=now)

    async def train(
        self,
        org_id: int,
        days: int = service.DEFAULT_TRAINING_DAYS,
        now: int | None = None,
        source: str | None = None,
        job_id: int | None = None,
    ) -> None:
        """Train a version; with `job_id`, record the run's state and outcome in that job."""

        async def train() -> ModelVersion:
            async with self.database.session() as session:
                return await service.train_org(
                    session, org_id, now if now is not None else now_ms(), days=days, source=source
                )

        if job_id is None:
            await train()
        else:
            await training_jobs.run_tracked(self.database, job_id, train)


class FailureProbabilitySignals:
    """Alert rules of kind failure_probability read the newest stored predictions."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def signals(self, request: SignalRequest) -> Sequence[Signal]:
        horizon = str(int(request.params.get("horizon_hours", 24)))
        items = await service.latest_predictions(request.session, request.org_id, request.service)
        out = []
        for item in items:
            p = item["probabilities"].get(horizon)
            if p is None:
                continue
            factors: list[dict[str, Any]] = item["factors"].get(horizon, [])
            out.append(
                Signal(
                    service=item["service"],
                    value=float(p),
                    labels={"horizon_hours": horizon, "incident_type": item["incident_type"]},
                    time_to_impact_hours=float(horizon),
                    factors=[Factor(f["statement"], float(f["contribution"])) for f in factors],
                    details={
                        "model_version": item["model_version"],
                        "risk_level": item["risk_level"],
                        "root_cause": item["root_cause"],
                    },
                )
            )
        return out


def install_prediction(app: FastAPI) -> None:
    """Model cache, runner jobs and the alert signal of the prediction domain."""
    app.state.model_cache = service.ModelCache()
    jobs = PredictionJobs(app.state.db, app.state.model_cache)
    app.state.prediction_jobs = jobs
    runner = app.state.runner
    runner.register(SCORE_TASK, OrgJob(SCORE_TASK, jobs.orgs, jobs.score_org))
    runner.register(RETRAIN_TASK, OrgJob(RETRAIN_TASK, jobs.orgs, jobs.retrain_org))
    runner.register(TRAIN_TASK, jobs.train)
    runner.every(SCORE_SECONDS, SCORE_TASK)
    runner.every(RETRAIN_SECONDS, RETRAIN_TASK)
    signals = getattr(app.state, "alert_signals", None)
    if signals is not None:
        signals.register("failure_probability", FailureProbabilitySignals(app.state.db))
