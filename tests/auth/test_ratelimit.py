from __future__ import annotations

from datetime import timedelta

from factories import FakeClock

from failcast.auth.ratelimit import Decision, InProcessLimiter, LockState

MINUTE = timedelta(minutes=1)


async def test_sliding_window_allows_the_limit_then_says_when_to_retry() -> None:
    clock = FakeClock()
    limiter = InProcessLimiter(clock)
    assert [await limiter.hit("k", 3, MINUTE) for _ in range(3)] == [Decision(True)] * 3
    clock.advance(seconds=20)
    assert await limiter.hit("k", 3, MINUTE) == Decision(False, 40)
    assert await limiter.peek("k", 3, MINUTE) == Decision(False, 40)
    assert await limiter.hit("other", 3, MINUTE) == Decision(True)
    clock.advance(seconds=40)
    assert await limiter.hit("k", 3, MINUTE) == Decision(True)
    await limiter.reset("k")
    assert await limiter.peek("k", 1, MINUTE) == Decision(True)


async def test_refused_hits_are_not_counted() -> None:
    clock = FakeClock()
    limiter = InProcessLimiter(clock)
    await limiter.hit("k", 1, MINUTE)
    for _ in range(10):
        clock.advance(seconds=5)
        await limiter.hit("k", 1, MINUTE)
    clock.advance(seconds=10)
    assert (await limiter.hit("k", 1, MINUTE)).allowed


async def test_the_limiter_forgets_the_oldest_keys_beyond_its_bound() -> None:
    limiter = InProcessLimiter(FakeClock(), max_keys=2)
    for key in ("a", "b", "c"):
        await limiter.hit(key, 1, MINUTE)
    assert (await limiter.peek("a", 1, MINUTE)).allowed
    assert not (await limiter.peek("c", 1, MINUTE)).allowed


def test_lock_state_counts_consecutive_failures_and_restarts_after_a_lock() -> None:
    clock = FakeClock()
    state = LockState()
    for _ in range(2):
        state = state.after_failure(clock(), 3, timedelta(minutes=15))
    assert state == LockState(2, None)
    state = state.after_failure(clock(), 3, timedelta(minutes=15))
    assert state.failures == 0
    assert state.locked_for(clock()) == 900
    clock.advance(minutes=15)
    assert state.locked_for(clock()) == 0
    assert state.after_failure(clock(), 3, timedelta(minutes=15)) == LockState(1, None)
