"""The task runner of scale-out mode: tasks are arq jobs on a Redis queue.

API processes hold an `ArqRunner`: `submit` enqueues and returns at once. Worker processes
build the same app, so the same task functions get registered on their runner, and run them
(jobs/worker.py). Periodic jobs are not timed here: the elected scheduler enqueues one job per
job name and time slot (jobs/leader.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool

from failcast.config import Settings
from failcast.jobs.runner import InProcessRunner, JobEvents, Task, TaskRunner

# The arq functions that run one scheduled slot of a periodic job, and one org's share of a
# slot of a periodic `OrgJob` (see jobs/worker.py).
PERIODIC_FUNCTION = "failcast.periodic"
ORG_FUNCTION = "failcast.periodic_org"


def queue_name(settings: Settings) -> str:
    return f"{settings.redis_prefix}queue"


def slot_job_id(name: str, slot_ms: int) -> str:
    """The arq job id of one scheduled run: arq enqueues a given id only once."""
    return f"periodic:{name}:{slot_ms}"


def org_job_id(name: str, org_id: int, slot_ms: int) -> str:
    """The arq job id of one org's share of a scheduled run."""
    return f"periodic:{name}:{slot_ms}:org:{org_id}"


def expiry_seconds(interval_ms: int) -> float:
    """A scheduled run not started within two intervals (at least 10 s) is dropped: after an
    outage the next slot does the work, instead of a backlog of stale runs."""
    return max(2 * interval_ms, 10_000) / 1000


@dataclass
class ArqRunner:
    """Registers task functions like `InProcessRunner`; `submit` puts them on the queue."""

    redis_url: str
    queue: str
    tasks: dict[str, Task] = field(default_factory=dict)
    periodic: list[tuple[float, str]] = field(default_factory=list)
    events: JobEvents | None = None
    _pool: ArqRedis | None = None

    def register(self, name: str, task: Task) -> None:
        if name in self.tasks:
            raise ValueError(f"task {name!r} is already registered")
        self.tasks[name] = task

    def every(self, seconds: float, name: str) -> None:
        if seconds <= 0:
            raise ValueError("a periodic job needs a positive interval")
        self.periodic.append((seconds, name))

    @property
    def pool(self) -> ArqRedis:
        if self._pool is None:
            raise RuntimeError("the runner is not started")
        return self._pool

    async def submit(self, name: str, **kwargs: Any) -> None:
        if name not in self.tasks:
            raise KeyError(f"no task named {name!r}")
        await self.pool.enqueue_job(name, _queue_name=self.queue, **kwargs)

    async def enqueue_slot(self, name: str, slot_ms: int, fence: int, *, interval_ms: int) -> bool:
        """Enqueue the run of periodic job `name` for `slot_ms`; False if it already was."""
        if name not in self.tasks:
            raise KeyError(f"no task named {name!r}")
        job = await self.pool.enqueue_job(
            PERIODIC_FUNCTION,
            name,
            slot_ms,
            fence,
            interval_ms,
            _job_id=slot_job_id(name, slot_ms),
            _queue_name=self.queue,
            _expires=expiry_seconds(interval_ms),
        )
        return job is not None

    async def enqueue_org_slot(
        self, name: str, org_id: int, slot_ms: int, fence: int, *, interval_ms: int
    ) -> bool:
        """Enqueue one org's share of the run of `name` for `slot_ms`; False if it already was."""
        job = await self.pool.enqueue_job(
            ORG_FUNCTION,
            name,
            org_id,
            slot_ms,
            fence,
            _job_id=org_job_id(name, org_id, slot_ms),
            _queue_name=self.queue,
            _expires=expiry_seconds(interval_ms),
        )
        return job is not None

    async def start(self) -> None:
        if self._pool is None:
            self._pool = await create_pool(
                RedisSettings.from_dsn(self.redis_url), default_queue_name=self.queue
            )

    async def stop(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None


def runner_for(settings: Settings) -> TaskRunner:
    """The runner of the configured mode: in-process, or arq over `settings.redis_url`."""
    if settings.scale_out:
        return ArqRunner(settings.redis_url, queue_name(settings))
    return InProcessRunner(periodic=settings.periodic_jobs)
