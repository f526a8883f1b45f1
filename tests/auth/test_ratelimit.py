from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from factories import FakeClock, make_settings

from failcast.auth.ratelimit import (
    Clock,
    Decision,
    InProcessLimiter,
    LockState,
    RateLimiter,
    RedisLimiter,
)
from failcast.auth.security import Security

MINUTE = timedelta(minutes=1)
REDIS_URL = os.environ.get("FAILCAST_TEST_REDIS_URL", "")

MakeLimiter = Callable[[Clock], RateLimiter]


@pytest.fixture(params=["in-process", "redis"])
async def make_limiter(request: pytest.FixtureRequest) -> AsyncIterator[MakeLimiter]:
    """Each limiter kind; the Redis ones share a real server under a prefix of their own."""
    if request.param == "in-process":
        yield InProcessLimiter
        return
    if not REDIS_URL:
        pytest.skip("FAILCAST_TEST_REDIS_URL is not set")
    client = aioredis.Redis.from_url(REDIS_URL)
    prefix = f"test-{uuid.uuid4().hex}:"
    try:
        yield lambda clock: RedisLimiter(client, prefix, clock)
    finally:
        keys = [key async for key in client.scan_iter(f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_sliding_window_allows_the_limit_then_says_when_to_retry(
    make_limiter: MakeLimiter,
) -> None:
    clock = FakeClock()
    limiter = make_limiter(clock)
    assert [await limiter.hit("k", 3, MINUTE) for _ in range(3)] == [Decision(True)] * 3
    clock.advance(seconds=20)
    assert await limiter.hit("k", 3, MINUTE) == Decision(False, 40)
    assert await limiter.peek("k", 3, MINUTE) == Decision(False, 40)
    assert await limiter.hit("other", 3, MINUTE) == Decision(True)
    clock.advance(seconds=40)
    assert await limiter.hit("k", 3, MINUTE) == Decision(True)
    await limiter.reset("k")
    assert await limiter.peek("k", 1, MINUTE) == Decision(True)


async def test_refused_hits_are_not_counted(make_limiter: MakeLimiter) -> None:
    clock = FakeClock()
    limiter = make_limiter(clock)
    await limiter.hit("k", 1, MINUTE)
    for _ in range(10):
        clock.advance(seconds=5)
        await limiter.hit("k", 1, MINUTE)
    clock.advance(seconds=10)
    assert (await limiter.hit("k", 1, MINUTE)).allowed


async def test_replicas_sharing_redis_count_against_one_limit() -> None:
    """Two API replicas, each with its own limiter, hit concurrently: together they allow
    exactly the limit, not the limit each."""
    if not REDIS_URL:
        pytest.skip("FAILCAST_TEST_REDIS_URL is not set")
    clock = FakeClock()
    prefix = f"test-{uuid.uuid4().hex}:"
    clients = [aioredis.Redis.from_url(REDIS_URL) for _ in range(2)]
    try:
        replicas = [RedisLimiter(client, prefix, clock) for client in clients]
        decisions = await asyncio.gather(
            *(replicas[i % 2].hit("login:10.0.0.1", 5, MINUTE) for i in range(20))
        )
        assert sum(decision.allowed for decision in decisions) == 5
        await replicas[0].reset("login:10.0.0.1")
        assert (await replicas[1].peek("login:10.0.0.1", 5, MINUTE)).allowed
    finally:
        for client in clients:
            await client.delete(f"{prefix}ratelimit:login:10.0.0.1")
            await client.aclose()


async def test_scale_out_mode_limits_through_redis(tmp_path: Path) -> None:
    if not REDIS_URL:
        pytest.skip("FAILCAST_TEST_REDIS_URL is not set")
    security = Security(make_settings(data_dir=tmp_path, redis_url=REDIS_URL), runner=None)
    try:
        assert isinstance(security.limiter, RedisLimiter)
    finally:
        await security.close()
    local = Security(make_settings(data_dir=tmp_path), runner=None)
    assert isinstance(local.limiter, InProcessLimiter)
    await local.close()


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
