"""Worker and scheduler processes of scale-out mode.

The task context is the services' container: a worker builds it with the `build_services` its
caller passes (jobs never import the composition root, which imports them), so the Database,
Ingestor, Simulator, Notifier, RedisHub and every domain's task functions are built exactly as
in an API process and registered on its `ArqRunner`; no web app is built. The worker hands
those functions to arq; a task submitted by any API process runs here unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from arq.connections import RedisSettings
from arq.worker import Function, Worker, func
from sqlalchemy import select

from failcast.config import Settings
from failcast.db.base import utcnow
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.jobs.arq_runner import ORG_FUNCTION, PERIODIC_FUNCTION, ArqRunner
from failcast.jobs.leader import LeaderLease, Scheduler, accept_fence
from failcast.jobs.runner import JobRetry, OrgJob, Task, with_retries
from failcast.models import JobRun

if TYPE_CHECKING:
    from failcast.services import Services

log = logging.getLogger("failcast.jobs.worker")

ArqCoroutine = Callable[..., Awaitable[Any]]


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


ServicesFactory = Callable[[Settings], "Services"]


def build_context(
    settings: Settings, build_services: ServicesFactory
) -> tuple[Services, ArqRunner]:
    """The services that are the task context, and their queue-backed runner."""
    if not settings.scale_out:
        raise ValueError("workers and schedulers need FAILCAST_REDIS_URL")
    services = build_services(settings)
    runner = services.runner
    if not isinstance(runner, ArqRunner):
        raise TypeError("scale-out mode did not build an ArqRunner")
    return services, runner


def as_job(name: str, task: Task, runner: ArqRunner) -> ArqCoroutine:
    """Adapt a task function to arq's calling convention (a context first); transient store
    errors are retried as in embedded mode."""

    async def job(ctx: dict[str, Any], **kwargs: Any) -> None:
        if isinstance(task, OrgJob):
            await task(**kwargs)
            return
        await with_retries(name, lambda: task(**kwargs), retry=JobRetry(), events=runner.events)

    return job


class PeriodicJob:
    """Runs one scheduled slot of a periodic job at most once, and records it in `job_run`.

    arq delivers at least once: a job whose worker died is delivered again. A slot that
    already has a `job_run` row is therefore skipped, and a run whose fencing token is older
    than one already seen for the job (a deposed scheduler's) is refused.

    The slot of an `OrgJob` is split: its run only lists the orgs and enqueues one job per org
    (`run_org`), so every worker takes a share. Each org's share is kept to once per slot the
    same way, under the name `<job>@<org id>`.
    """

    def __init__(self, runner: ArqRunner, database: Database, prefix: str, worker: str) -> None:
        self.runner = runner
        self.database = database
        self.prefix = prefix
        self.worker = worker

    async def completed(self, name: str, slot_ms: int) -> bool:
        async with session_scope(self.database) as session:
            found = await session.scalar(
                select(JobRun.id).where(JobRun.name == name, JobRun.slot_ms == slot_ms).limit(1)
            )
        return found is not None

    async def record(self, name: str, slot_ms: int, fence: int, started: datetime) -> None:
        async with session_scope(self.database) as session:
            session.add(
                JobRun(
                    name=name, slot_ms=slot_ms, fence=fence, worker=self.worker, started_at=started
                )
            )

    async def run(
        self,
        ctx: dict[str, Any],
        name: str,
        slot_ms: int,
        fence: int,
        interval_ms: int = 60_000,
    ) -> str:
        if not await accept_fence(ctx["redis"], self.prefix, name, fence):
            log.warning("refused a run from a deposed scheduler", extra={"task": name})
            return "stale"
        if await self.completed(name, slot_ms):
            return "done"
        started = utcnow()
        task = self.runner.tasks[name]
        if isinstance(task, OrgJob):
            for org_id in await task.orgs():
                await self.runner.enqueue_org_slot(
                    name, org_id, slot_ms, fence, interval_ms=interval_ms
                )
        else:
            await with_retries(name, task, retry=JobRetry(), events=self.runner.events)
        await self.record(name, slot_ms, fence, started)
        return "ran"

    async def run_org(
        self, ctx: dict[str, Any], name: str, org_id: int, slot_ms: int, fence: int
    ) -> str:
        if not await accept_fence(ctx["redis"], self.prefix, name, fence):
            log.warning("refused a run from a deposed scheduler", extra={"task": name})
            return "stale"
        key = org_run_name(name, org_id)
        if await self.completed(key, slot_ms):
            return "done"
        task = self.runner.tasks[name]
        if not isinstance(task, OrgJob):
            raise TypeError(f"task {name!r} is not run org by org")
        started = utcnow()
        await task.run_one(org_id, slot_ms)
        await self.record(key, slot_ms, fence, started)
        return "ran"


def org_run_name(name: str, org_id: int) -> str:
    """The `job_run` name of one org's share of a periodic job."""
    return f"{name}@{org_id}"


def arq_functions(services: Services, runner: ArqRunner, worker: str) -> list[Function]:
    """Every registered task as an arq function, plus the periodic-slot runner."""
    # arq types its coroutines as a protocol that only plain functions satisfy; these are
    # called exactly like them (context first).
    functions = [
        func(cast(Any, as_job(name, task, runner)), name=name)
        for name, task in runner.tasks.items()
    ]
    periodic = PeriodicJob(runner, services.db, services.settings.redis_prefix, worker)
    functions.append(func(cast(Any, periodic.run), name=PERIODIC_FUNCTION))
    functions.append(func(cast(Any, periodic.run_org), name=ORG_FUNCTION))
    return functions


def _stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


async def run_worker(
    settings: Settings,
    build_services: ServicesFactory,
    *,
    schedule: bool = False,
    burst: bool = False,
) -> None:
    """Run queued tasks until SIGTERM/SIGINT; with `schedule`, also compete for leadership."""
    services, runner = build_context(settings, build_services)
    await runner.start()
    me = worker_id()
    worker = Worker(
        functions=arq_functions(services, runner, me),
        queue_name=runner.queue,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        max_jobs=settings.worker_concurrency,
        job_timeout=settings.worker_job_timeout,
        burst=burst,
        handle_signals=True,
        # One line per job at INFO would drown the logs of a busy queue.
        log_results=False,
    )
    stop = asyncio.Event()
    scheduling = None
    if schedule:
        lease = LeaderLease(runner.pool, settings.redis_prefix, settings.scheduler_lock_ttl, me)
        scheduling = asyncio.create_task(Scheduler(runner, lease).run(stop))
    log.info("worker started", extra={"worker": me, "tasks": len(runner.tasks)})
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await worker.async_run()
    finally:
        stop.set()
        if scheduling is not None:
            await scheduling
        await worker.close()
        await services.aclose()


async def run_scheduler(settings: Settings, build_services: ServicesFactory) -> None:
    """Enqueue periodic jobs while holding the leader lease, until SIGTERM/SIGINT."""
    services, runner = build_context(settings, build_services)
    await runner.start()
    stop = asyncio.Event()
    _stop_on_signals(stop)
    lease = LeaderLease(
        runner.pool, settings.redis_prefix, settings.scheduler_lock_ttl, worker_id()
    )
    log.info("scheduler started", extra={"jobs": [name for _, name in runner.periodic]})
    try:
        await Scheduler(runner, lease).run(stop)
    finally:
        await services.aclose()
