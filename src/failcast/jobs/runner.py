"""The task-runner seam. Stages submit named tasks; a runner decides where they execute.

`InProcessRunner` runs them on the server's event loop with bounded concurrency and runs
periodic jobs on a timer. A queue-backed runner with the same interface serves scale-out mode.

Periodic work that is done org by org (scoring, alert evaluation, retraining) is registered as
an `OrgJob`. Called as a task it goes through the orgs one after the other, which is what the
embedded mode does; scale-out workers instead split each scheduled run into one queued job per
org, so that several workers share one run (jobs/worker.py).

A task, or one org's share of an `OrgJob`, that fails because the store was briefly
unavailable (locked, a dropped connection, a full pool) is retried with backoff at the same
instant it was scheduled for, so a busy store does not make an org silently miss an alert
evaluation. Retries and final failures are counted (`failcast_job_retries`,
`failcast_job_failures`) and logged; other errors are bugs, logged at once and not retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from failcast.timeutil import now_ms

log = logging.getLogger("failcast.jobs")

Task = Callable[..., Awaitable[Any]]
# How long a stopping runner lets running tasks finish before cancelling them: a server must
# stop within seconds of SIGTERM even while a model trains, and a cancelled task is simply
# run again at its next slot.
STOP_GRACE_SECONDS = 3.0
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class JobRetry:
    """`attempts` tries in all; the wait after try n is initial * factor**(n-1), capped."""

    attempts: int = 5
    initial_seconds: float = 0.5
    factor: float = 2.0
    max_seconds: float = 15.0

    def delay(self, attempt: int) -> float:
        return min(self.initial_seconds * self.factor ** (attempt - 1), self.max_seconds)


class JobEvents(Protocol):
    """Where retries and final failures of background work are counted."""

    def retried(self, task: str) -> None: ...

    def failed(self, task: str) -> None: ...


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` is the store being briefly unavailable, so that trying again can work:
    SQLite's busy lock, a lost or invalidated connection, an exhausted pool."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
        return any(
            mark in text
            for mark in (
                "database is locked",
                "database table is locked",
                "connection",
                "timeout",
                "deadlock detected",
                "could not serialize",
            )
        )
    return False


async def with_retries(
    name: str,
    call: Callable[[], Awaitable[T]],
    *,
    retry: JobRetry,
    sleep: Sleep = asyncio.sleep,
    events: JobEvents | None = None,
    context: dict[str, Any] | None = None,
) -> T:
    """`call()`, tried again after transient store errors; the last error is raised."""
    for attempt in range(1, retry.attempts + 1):
        try:
            return await call()
        except Exception as exc:
            if not is_transient(exc) or attempt == retry.attempts:
                if events is not None:
                    events.failed(name)
                raise
            delay = retry.delay(attempt)
            log.warning(
                "retrying after a transient store error",
                extra={"task": name, "attempt": attempt, "delay_s": delay, **(context or {})},
            )
            if events is not None:
                events.retried(name)
            await sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


class OrgJob:
    """A periodic job done one org at a time.

    `orgs` lists the orgs that have work; `run_org(org_id, now_ms)` does one org's share at
    `now_ms`. A call runs every org in turn, each retried after transient store errors
    (`run_one`); one org's failure is logged and counted and does not stop the others, and a
    pass still in progress makes an overlapping call return at once.
    """

    def __init__(
        self,
        name: str,
        orgs: Callable[[], Awaitable[Sequence[int]]],
        run_org: Callable[[int, int], Awaitable[Any]],
        *,
        retry: JobRetry | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.orgs = orgs
        self.run_org = run_org
        self.retry = retry or JobRetry()
        self.sleep = sleep
        self.events: JobEvents | None = None
        self._lock = asyncio.Lock()

    async def run_one(self, org_id: int, at: int) -> Any:
        """One org's share at `at`, tried again (at the same instant) after transient errors."""
        return await with_retries(
            self.name,
            lambda: self.run_org(org_id, at),
            retry=self.retry,
            sleep=self.sleep,
            events=self.events,
            context={"org_id": org_id},
        )

    async def __call__(self, now: int | None = None) -> int:
        """Run every org at `now` (default: the current time); the number of orgs run."""
        if self._lock.locked():
            return 0
        async with self._lock:
            at = now_ms() if now is None else now
            done = 0
            orgs = await with_retries(
                self.name, self.orgs, retry=self.retry, sleep=self.sleep, events=self.events
            )
            for org_id in orgs:
                try:
                    await self.run_one(org_id, at)
                    done += 1
                except Exception:
                    log.exception("org job failed", extra={"task": self.name, "org_id": org_id})
            return done


class TaskRunner(Protocol):
    tasks: dict[str, Task]
    events: JobEvents | None

    def register(self, name: str, task: Task) -> None: ...

    def every(self, seconds: float, name: str) -> None: ...

    async def submit(self, name: str, **kwargs: Any) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class InProcessRunner:
    """Runs tasks as asyncio tasks of this process, at most `concurrency` at a time."""

    concurrency: int = 4
    # Without periodic timers only submitted tasks run: tests call periodic jobs themselves.
    periodic: bool = True
    retry: JobRetry = field(default_factory=JobRetry)
    sleep: Sleep = asyncio.sleep
    events: JobEvents | None = None
    tasks: dict[str, Task] = field(default_factory=dict)
    _periodic: list[tuple[float, str]] = field(default_factory=list)
    _running: set[asyncio.Task[None]] = field(default_factory=set)
    _timers: list[asyncio.Task[None]] = field(default_factory=list)
    _slots: asyncio.Semaphore | None = None

    def register(self, name: str, task: Task) -> None:
        if name in self.tasks:
            raise ValueError(f"task {name!r} is already registered")
        self.tasks[name] = task

    def every(self, seconds: float, name: str) -> None:
        if seconds <= 0:
            raise ValueError("a periodic job needs a positive interval")
        self._periodic.append((seconds, name))

    async def _run(self, name: str, kwargs: dict[str, Any]) -> None:
        assert self._slots is not None
        task = self.tasks[name]
        async with self._slots:
            try:
                if isinstance(task, OrgJob):
                    # Its orgs are retried one by one inside it.
                    await task(**kwargs)
                else:
                    await with_retries(
                        name,
                        lambda: task(**kwargs),
                        retry=self.retry,
                        sleep=self.sleep,
                        events=self.events,
                    )
            except Exception:
                log.exception("task failed", extra={"task": name})

    async def submit(self, name: str, **kwargs: Any) -> None:
        if name not in self.tasks:
            raise KeyError(f"no task named {name!r}")
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.concurrency)
        job = asyncio.create_task(self._run(name, kwargs), name=f"task:{name}")
        self._running.add(job)
        job.add_done_callback(self._running.discard)

    async def drain(self) -> None:
        """Wait until every submitted task has finished."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    async def _timer(self, seconds: float, name: str) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self.submit(name)

    async def start(self) -> None:
        self._slots = self._slots or asyncio.Semaphore(self.concurrency)
        if not self.periodic:
            return
        for seconds, name in self._periodic:
            self._timers.append(asyncio.create_task(self._timer(seconds, name)))

    async def stop(self, grace_seconds: float = STOP_GRACE_SECONDS) -> None:
        """Stop the timers, let running tasks finish for `grace_seconds`, then cancel them."""
        for timer in self._timers:
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        self._timers.clear()
        running = list(self._running)
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=grace_seconds)
        for job in pending:
            job.cancel()
        if pending:
            names = [job.get_name() for job in pending]
            log.warning("tasks cancelled at shutdown", extra={"tasks": names})
            await asyncio.gather(*pending, return_exceptions=True)


def attach_events(runner: TaskRunner, events: JobEvents) -> None:
    """Count the retries and failures of every task registered on `runner` in `events`."""
    runner.events = events
    for task in runner.tasks.values():
        if isinstance(task, OrgJob):
            task.events = events
