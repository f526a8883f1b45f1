"""The task-runner seam. Stages submit named tasks; a runner decides where they execute.

`InProcessRunner` runs them on the server's event loop with bounded concurrency and runs
periodic jobs on a timer. A queue-backed runner with the same interface serves scale-out mode.

Periodic work that is done org by org (scoring, alert evaluation, retraining) is registered as
an `OrgJob`. Called as a task it goes through the orgs one after the other, which is what the
embedded mode does; scale-out workers instead split each scheduled run into one queued job per
org, so that several workers share one run (jobs/worker.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from failcast.timeutil import now_ms

log = logging.getLogger("failcast.jobs")

Task = Callable[..., Awaitable[Any]]


class OrgJob:
    """A periodic job done one org at a time.

    `orgs` lists the orgs that have work; `run_org(org_id, now_ms)` does one org's share at
    `now_ms`. A call runs every org in turn; one org's failure is logged and does not stop the
    others, and a pass still in progress makes an overlapping call return at once.
    """

    def __init__(
        self,
        name: str,
        orgs: Callable[[], Awaitable[Sequence[int]]],
        run_org: Callable[[int, int], Awaitable[Any]],
    ) -> None:
        self.name = name
        self.orgs = orgs
        self.run_org = run_org
        self._lock = asyncio.Lock()

    async def __call__(self, now: int | None = None) -> int:
        """Run every org at `now` (default: the current time); the number of orgs run."""
        if self._lock.locked():
            return 0
        async with self._lock:
            at = now_ms() if now is None else now
            done = 0
            for org_id in await self.orgs():
                try:
                    await self.run_org(org_id, at)
                    done += 1
                except Exception:
                    log.exception("org job failed", extra={"task": self.name, "org_id": org_id})
            return done


class TaskRunner(Protocol):
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
        async with self._slots:
            try:
                await self.tasks[name](**kwargs)
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

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        await asyncio.gather(*self._timers, return_exceptions=True)
        self._timers.clear()
        await self.drain()
