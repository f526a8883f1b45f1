"""One scheduler at a time: a Redis lease with a fencing token, and the loop that enqueues
each periodic job once per time slot.

The lease is `SET key token NX PX ttl`; the holder renews it well before it lapses, and every
acquisition takes the next number of a counter (the fencing token). A scheduler that stalls
past its lease and wakes up may still enqueue a slot or two before it notices; those runs
carry its older token, and workers refuse a token lower than one they have already run for
that job (jobs/worker.py). Slots themselves are deduplicated by arq's job id, so two leaders
overlapping for a moment still enqueue each slot once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Callable

from redis.asyncio import Redis

from failcast.jobs.arq_runner import ArqRunner

log = logging.getLogger("failcast.jobs.leader")

_ACQUIRE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return redis.call('INCR', KEYS[2])
end
return false
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""
# Accept a run whose token is at least the highest one already accepted for this job.
_FENCE = """
local seen = tonumber(redis.call('GET', KEYS[1]) or '0')
local token = tonumber(ARGV[1])
if token < seen then return 0 end
if token > seen then redis.call('SET', KEYS[1], token) end
return 1
"""


class LeaderLease:
    """A lease on leadership held in Redis under `key`; `fence` is set while held.

    The lease's value names its holder (`host:pid:random`), so operators can see who leads.
    """

    def __init__(self, redis: Redis, prefix: str, ttl_seconds: float, holder: str) -> None:
        self.redis = redis
        self.key = f"{prefix}scheduler:leader"
        self.epoch_key = f"{prefix}scheduler:epoch"
        self.ttl_ms = int(ttl_seconds * 1000)
        self.token = f"{holder}:{uuid.uuid4().hex[:12]}"
        self.fence: int | None = None

    async def hold(self) -> int | None:
        """Acquire or renew the lease; the fencing token while it is held, else None."""
        if self.fence is not None:
            renewed = await self.redis.eval(_RENEW, 1, self.key, self.token, str(self.ttl_ms))  # type: ignore[misc]
            if not renewed:
                log.warning("scheduler lease lost", extra={"fence": self.fence})
                self.fence = None
        if self.fence is None:
            fence = await self.redis.eval(  # type: ignore[misc]
                _ACQUIRE, 2, self.key, self.epoch_key, self.token, str(self.ttl_ms)
            )
            if fence:
                self.fence = int(fence)
                log.info("scheduler lease acquired", extra={"fence": self.fence})
        return self.fence

    async def release(self) -> None:
        if self.fence is not None:
            await self.redis.eval(_RELEASE, 1, self.key, self.token)  # type: ignore[misc]
            self.fence = None


async def accept_fence(redis: Redis, prefix: str, name: str, fence: int) -> bool:
    """Whether a scheduled run of `name` with this fencing token may run."""
    accepted = await redis.eval(_FENCE, 1, f"{prefix}fence:{name}", str(fence))  # type: ignore[misc]
    return bool(accepted)


def slot_of(now_ms: int, interval_ms: int) -> int:
    """The start of the slot of length `interval_ms` that holds `now_ms`."""
    return now_ms - now_ms % interval_ms


class Scheduler:
    """Enqueues each periodic job of `runner` at the start of each of its slots, while leader."""

    def __init__(
        self,
        runner: ArqRunner,
        lease: LeaderLease,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.runner = runner
        self.lease = lease
        self.clock = clock
        self.jobs = [(max(1, int(seconds * 1000)), name) for seconds, name in runner.periodic]
        self._last: dict[str, int] = {}

    async def tick(self, now_ms: int) -> list[tuple[str, int]]:
        """Enqueue the current slot of every job not yet enqueued by this leader."""
        fence = await self.lease.hold()
        if fence is None:
            self._last.clear()
            return []
        enqueued = []
        for interval_ms, name in self.jobs:
            slot = slot_of(now_ms, interval_ms)
            if self._last.get(name) == slot:
                continue
            if await self.runner.enqueue_slot(name, slot, fence, interval_ms=interval_ms):
                enqueued.append((name, slot))
            self._last[name] = slot
        return enqueued

    def _pause(self, now: float) -> float:
        """Seconds until the next slot starts or the lease needs renewing."""
        renew = self.lease.ttl_ms / 3000
        if self.lease.fence is None or not self.jobs:
            return renew
        now_ms = int(now * 1000)
        due = min(interval - now_ms % interval for interval, _ in self.jobs) / 1000
        return max(0.005, min(renew, due + 0.002))

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule until `stop` is set, then give up the lease."""
        try:
            while not stop.is_set():
                try:
                    await self.tick(int(self.clock() * 1000))
                except Exception:
                    # Redis restarting or unreachable: keep trying; the lease lapses meanwhile.
                    log.exception("scheduling failed")
                    self._last.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._pause(self.clock()))
        finally:
            with contextlib.suppress(Exception):
                await self.lease.release()
