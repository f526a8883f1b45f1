"""Background work of the prediction domain: periodic scoring and matching, early re-scoring
of a service that changed sharply, scheduled retraining, and the failure-probability signal
alert rules read.

Every service is scored every `SCORE_SECONDS`. A service whose health status changes, or one
of whose live anomaly scores rises past the alarm threshold, is re-scored at once
(`Rescorer`), at most once per `RESCORE_MIN_SECONDS`: its prediction must not read calm for up
to a quarter of an hour after it broke, and a flapping service must not keep the scorer busy.
The throttle lives in each process: in scale-out mode an API replica and a worker may each
re-score a service once in the same minute.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.jobs.runner import OrgJob, TaskRunner
from failcast.models import ModelStatus, ModelVersion, TrainingSource
from failcast.predict import registry, repository, service, training_jobs
from failcast.signals import Factor, Signal, SignalRequest
from failcast.timeutil import now_ms

if TYPE_CHECKING:
    from failcast.services import Services

log = logging.getLogger("failcast.predict")

SCORE_TASK = "predict.score"
RESCORE_TASK = "predict.rescore"
RETRAIN_TASK = "predict.retrain"
TRAIN_TASK = "predict.train"
SCORE_SECONDS = 15 * 60.0
RESCORE_MIN_SECONDS = 60.0
RETRAIN_SECONDS = 7 * 24 * 3600.0


class PredictionJobs:
    """The task functions the runner calls; each opens its own sessions."""

    def __init__(
        self,
        database: Database,
        cache: registry.ModelCache,
        topology: repository.TopologyProvider | None = None,
    ) -> None:
        self.database = database
        self.cache = cache
        # The org's merged dependency graph, so the dependency features count the edges the
        # topology page shows.
        self.topology = topology

    async def orgs(self) -> list[int]:
        """Orgs with a live model: the ones scored and retrained."""
        async with session_scope(self.database) as session:
            return await repository.org_ids_with_models(session, ModelStatus.active)

    async def score_org(self, org_id: int, now: int) -> int:
        """Score the org's services at `now`, then match its due predictions; rows stored."""
        async with session_scope(self.database) as session:
            stored = await service.score_org(
                session, org_id, now, self.cache, topology=self.topology
            )
            await service.resolve_org(session, org_id, datetime.fromtimestamp(now / 1000, UTC))
        return stored

    async def score(self, now: int | None = None) -> int:
        """Score every org that has a live model; rows stored."""
        at = now if now is not None else now_ms()
        return sum([await self.score_org(org_id, at) for org_id in await self.orgs()])

    async def rescore(self, org_id: int, service_ids: list[int], now: int) -> int:
        """Score some of an org's services at `now`, outside the schedule; rows stored."""
        async with session_scope(self.database) as session:
            return await service.score_org(
                session, org_id, now, self.cache, only=service_ids, topology=self.topology
            )

    async def retrain_org(self, org_id: int, now: int) -> None:
        await self.train(org_id=org_id, now=now)

    async def train(
        self,
        org_id: int,
        days: int = registry.DEFAULT_TRAINING_DAYS,
        now: int | None = None,
        source: TrainingSource | None = None,
        job_id: int | None = None,
    ) -> None:
        """Train a version; with `job_id`, record the run's state and outcome in that job."""

        async def train() -> ModelVersion:
            async with session_scope(self.database) as session:
                return await registry.train_org(
                    session,
                    org_id,
                    now if now is not None else now_ms(),
                    days=days,
                    source=source,
                    topology=self.topology,
                )

        if job_id is None:
            await train()
        else:
            await training_jobs.run_tracked(self.database, job_id, train)


class RescoreThrottle:
    """Lets a service be re-scored early at most once per `seconds`."""

    # Beyond this many remembered services, the ones whose wait is over are forgotten.
    KEEP = 4096

    def __init__(self, seconds: float = RESCORE_MIN_SECONDS) -> None:
        self.interval_ms = int(seconds * 1000)
        self._last: dict[tuple[int, int], int] = {}

    def take(self, org_id: int, service_ids: Iterable[int], now: int) -> list[int]:
        """The services that may be re-scored at `now` (epoch ms), marked as re-scored."""
        if len(self._last) > self.KEEP:
            self._last = {k: t for k, t in self._last.items() if now - t < self.interval_ms}
        allowed = []
        for service_id in sorted(set(service_ids)):
            last = self._last.get((org_id, service_id))
            if last is None or now - last >= self.interval_ms:
                self._last[(org_id, service_id)] = now
                allowed.append(service_id)
        return allowed


class Rescorer:
    """Re-scores services that changed sharply at once, through the runner's `RESCORE_TASK`,
    each at most once per throttle interval."""

    def __init__(
        self,
        runner: TaskRunner,
        throttle: RescoreThrottle | None = None,
        now_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.runner = runner
        self.throttle = throttle or RescoreThrottle()
        self.now_ms = now_ms

    async def request(self, org_id: int, service_ids: Iterable[int], reason: str) -> list[int]:
        """Ask for the services to be re-scored now; the ones actually submitted."""
        now = self.now_ms()
        allowed = self.throttle.take(org_id, service_ids, now)
        if not allowed:
            return []
        try:
            await self.runner.submit(RESCORE_TASK, org_id=org_id, service_ids=allowed, now=now)
        except Exception:  # the next scheduled slot still scores them
            log.warning("early re-scoring not submitted", exc_info=True)
            return []
        log.info(
            "re-scoring at once",
            extra={"org_id": org_id, "service_ids": allowed, "reason": reason},
        )
        return allowed

    async def health_changed(self, org_id: int, service_ids: list[int]) -> None:
        """Listener of the live health watch: these services' status changed."""
        await self.request(org_id, service_ids, "health status changed")

    async def anomaly_alarmed(self, org_id: int, service_ids: Iterable[int]) -> None:
        """These services' live anomaly scores rose past the alarm threshold."""
        await self.request(org_id, service_ids, "anomaly score past the alarm threshold")


class FailureProbabilitySignals:
    """Alert rules of kind failure_probability read the newest stored predictions."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def signals(self, request: SignalRequest) -> Sequence[Signal]:
        horizon = int(request.params.get("horizon_hours", 24))
        items = await service.latest_predictions(request.session, request.org_id, request.service)
        out = []
        for item in items:
            p = item.probabilities.get(horizon)
            if p is None:
                continue
            factors = item.factors.get(horizon, [])
            out.append(
                Signal(
                    service=item.service,
                    value=p,
                    labels={"horizon_hours": str(horizon), "incident_type": item.incident_type},
                    time_to_impact_hours=float(horizon),
                    factors=[Factor(f.statement, f.contribution) for f in factors],
                    details={
                        "model_version": item.model_version,
                        "risk_level": item.risk_level,
                        "root_cause": item.root_cause and item.root_cause.as_json(),
                    },
                )
            )
        return out


def install_prediction(services: Services) -> None:
    """Model cache, runner jobs, early re-scoring on health changes and the alert signal of the
    prediction domain."""
    services.model_cache = registry.ModelCache()
    jobs = PredictionJobs(services.db, services.model_cache, services.topology)
    services.prediction_jobs = jobs
    runner = services.runner
    runner.register(SCORE_TASK, OrgJob(SCORE_TASK, jobs.orgs, jobs.score_org))
    runner.register(RESCORE_TASK, jobs.rescore)
    runner.register(RETRAIN_TASK, OrgJob(RETRAIN_TASK, jobs.orgs, jobs.retrain_org))
    runner.register(TRAIN_TASK, jobs.train)
    runner.every(SCORE_SECONDS, SCORE_TASK)
    runner.every(RETRAIN_SECONDS, RETRAIN_TASK)
    rescorer = services.rescorer = Rescorer(runner)
    services.live.status_listeners.append(rescorer.health_changed)
    services.alert_signals.register("failure_probability", FailureProbabilitySignals(services.db))
