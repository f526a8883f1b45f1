"""Rate limits and sign-in lockouts behind a small interface, with an injectable clock.

`InProcessLimiter` keeps its counters in this process; `RedisLimiter`, with the same three
methods and the same sliding window, serves scale-out mode, where every API replica must count
against one limit (with N replicas and counters of their own, a client would get N times it).
"""

from __future__ import annotations

import math
import secrets
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

# Re-exported: the sign-in endpoints raise it from here.
from failcast.errors import TooManyRequests as TooManyRequests

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: int = 0


class RateLimiter(Protocol):
    async def hit(self, key: str, limit: int, window: timedelta) -> Decision:
        """Count one event under `key` unless `limit` events already fell in `window`."""
        ...

    async def peek(self, key: str, limit: int, window: timedelta) -> Decision:
        """Whether one more event would be allowed, without counting it."""
        ...

    async def reset(self, key: str) -> None: ...


class InProcessLimiter:
    """A sliding-window log per key; at most `limit` timestamps are kept for each key."""

    def __init__(self, clock: Clock = system_clock, max_keys: int = 100_000) -> None:
        self.clock = clock
        self._max_keys = max_keys
        self._events: OrderedDict[str, deque[datetime]] = OrderedDict()

    def _window(self, key: str, window: timedelta, now: datetime) -> deque[datetime]:
        events = self._events.get(key)
        if events is None:
            events = deque()
            self._events[key] = events
            # Forget the least recently touched keys so a flood of addresses cannot grow
            # memory without bound.
            while len(self._events) > self._max_keys:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and events[0] <= now - window:
            events.popleft()
        return events

    def _decide(
        self, events: deque[datetime], limit: int, window: timedelta, now: datetime
    ) -> Decision:
        if len(events) < limit:
            return Decision(True)
        wait = (events[len(events) - limit] + window - now).total_seconds()
        return Decision(False, math.ceil(wait))

    async def hit(self, key: str, limit: int, window: timedelta) -> Decision:
        now = self.clock()
        events = self._window(key, window, now)
        decision = self._decide(events, limit, window, now)
        if decision.allowed:
            events.append(now)
            while len(events) > limit:
                events.popleft()
        return decision

    async def peek(self, key: str, limit: int, window: timedelta) -> Decision:
        now = self.clock()
        return self._decide(self._window(key, window, now), limit, window, now)

    async def reset(self, key: str) -> None:
        self._events.pop(key, None)


# One key's sliding window as a sorted set of event times (microseconds), trimmed and counted
# and added to in one atomic step, so concurrent replicas never both take the last slot.
# Returns {1} when the event is allowed (and counted if ARGV[4] is "1"), else {0, the time of
# the event whose expiry frees a slot}.
_WINDOW_SCRIPT = """
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  if ARGV[4] == '1' then
    redis.call('ZADD', KEYS[1], now, ARGV[5])
    redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
  end
  return {1}
end
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
return {0, oldest[2]}
"""


class RedisLimiter:
    """The sliding-window log of `InProcessLimiter`, kept in Redis and shared by every replica.

    Times come from the injected clock, so a limit behaves the same in both kinds; keys expire
    in Redis one window after their last event."""

    def __init__(self, redis: Any, prefix: str, clock: Clock = system_clock) -> None:
        self.redis = redis
        self.prefix = f"{prefix}ratelimit:"
        self.clock = clock
        self._script = redis.register_script(_WINDOW_SCRIPT)

    async def _run(self, key: str, limit: int, window: timedelta, count: bool) -> Decision:
        now = _microseconds(self.clock())
        span = _microseconds_of(window)
        member = f"{now}:{secrets.token_hex(4)}"
        answer = await self._script(
            keys=[self.prefix + key], args=[now, span, limit, "1" if count else "0", member]
        )
        if int(answer[0]) == 1:
            return Decision(True)
        oldest = int(float(answer[1]))
        return Decision(False, math.ceil((oldest + span - now) / 1_000_000))

    async def hit(self, key: str, limit: int, window: timedelta) -> Decision:
        return await self._run(key, limit, window, count=True)

    async def peek(self, key: str, limit: int, window: timedelta) -> Decision:
        return await self._run(key, limit, window, count=False)

    async def reset(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)


def _microseconds(moment: datetime) -> int:
    return _microseconds_of(moment - datetime(1970, 1, 1, tzinfo=UTC))


def _microseconds_of(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


@dataclass(frozen=True, slots=True)
class LockState:
    """Consecutive failed sign-ins of one account, and until when it is locked."""

    failures: int = 0
    locked_until: datetime | None = None

    def locked_for(self, now: datetime) -> int:
        """Seconds the lock still holds, or 0."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return max(1, math.ceil((self.locked_until - now).total_seconds()))

    def after_failure(self, now: datetime, threshold: int, duration: timedelta) -> LockState:
        failures = (0 if self.locked_until is not None else self.failures) + 1
        if failures >= threshold:
            return LockState(0, now + duration)
        return LockState(failures, None)


class PhantomLocks:
    """Lock states of emails that have no account, so they lock exactly like real ones and a
    sign-in never reveals whether an account exists."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._max_keys = max_keys
        self._states: OrderedDict[str, LockState] = OrderedDict()

    def get(self, email: str) -> LockState:
        return self._states.get(email, LockState())

    def set(self, email: str, state: LockState) -> None:
        self._states[email] = state
        self._states.move_to_end(email)
        while len(self._states) > self._max_keys:
            self._states.popitem(last=False)
