"""The scheduler lease, fencing tokens, per-slot enqueue, the worker's once-per-slot rule and
the Redis hub, against a real Redis."""

from __future__ import annotations

import asyncio
import time

import redis.asyncio as aioredis
from arq.worker import Worker, func
from scaleout_env import redis_prefix, redis_url
from sqlalchemy import select

from failcast.config import Settings
from failcast.db.engine import Database
from failcast.jobs.arq_runner import ORG_FUNCTION, PERIODIC_FUNCTION, ArqRunner
from failcast.jobs.leader import LeaderLease, Scheduler, accept_fence
from failcast.jobs.runner import OrgJob
from failcast.jobs.worker import PeriodicJob
from failcast.live.redis_hub import RedisHub
from failcast.models import JobRun

__all__ = ["redis_prefix", "redis_url"]


async def test_one_lease_holder_and_rising_fences(redis_url: str, redis_prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    try:
        a = LeaderLease(client, redis_prefix, 0.3, "a")
        b = LeaderLease(client, redis_prefix, 0.3, "b")
        assert await a.hold() == 1
        assert await b.hold() is None
        assert await a.hold() == 1  # renewed, same token
        await a.release()
        assert await b.hold() == 2
        # b stops renewing: once the lease lapses, a takes over with a higher fence.
        deadline = time.monotonic() + 5
        while await client.exists(b.key):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        assert await a.hold() == 3
        assert await b.hold() is None and b.fence is None

        assert await accept_fence(client, redis_prefix, "job", 3)
        assert not await accept_fence(client, redis_prefix, "job", 2)
        assert await accept_fence(client, redis_prefix, "job", 3)
        assert await accept_fence(client, redis_prefix, "other", 1)
    finally:
        await client.aclose()


async def _noop() -> None:
    return None


async def test_each_slot_is_enqueued_once(redis_url: str, redis_prefix: str) -> None:
    runners = [ArqRunner(redis_url, f"{redis_prefix}queue") for _ in range(2)]
    for runner in runners:
        runner.register("tick", _noop)
        runner.every(1.0, "tick")
        await runner.start()
    try:
        leases = [LeaderLease(r.pool, redis_prefix, 5, f"s{n}") for n, r in enumerate(runners)]
        first, second = (Scheduler(r, lease) for r, lease in zip(runners, leases, strict=True))
        assert await first.tick(10_250) == [("tick", 10_000)]
        assert await first.tick(10_900) == []
        assert await second.tick(10_900) == []  # not the leader
        assert await first.tick(11_000) == [("tick", 11_000)]
        # Two leaders at once (a stalled one waking up): the slot's job id still dedups.
        assert not await runners[1].enqueue_slot("tick", 11_000, 1, interval_ms=1000)
        assert await runners[0].pool.zcard(f"{redis_prefix}queue") == 2
    finally:
        for runner in runners:
            await runner.stop()


async def test_a_slot_runs_once_and_deposed_leaders_are_refused(
    settings: Settings, redis_url: str, redis_prefix: str
) -> None:
    calls: list[int] = []

    async def task() -> None:
        calls.append(1)

    runner = ArqRunner(redis_url, f"{redis_prefix}queue")
    runner.register("job", task)
    database = Database(settings)
    client = aioredis.Redis.from_url(redis_url)
    try:
        periodic = PeriodicJob(runner, database, redis_prefix, "w1")
        ctx = {"redis": client}
        assert await periodic.run(ctx, "job", 60_000, 2) == "ran"
        assert await periodic.run(ctx, "job", 60_000, 2) == "done"  # redelivered
        assert await periodic.run(ctx, "job", 120_000, 1) == "stale"  # older fence
        assert calls == [1]
        async with database.session() as session:
            runs = (await session.scalars(select(JobRun))).all()
        assert [(r.name, r.slot_ms, r.fence, r.worker) for r in runs] == [("job", 60_000, 2, "w1")]
    finally:
        await client.aclose()
        await database.dispose()


async def test_an_org_job_slot_is_shared_by_workers_and_runs_each_org_once(
    settings: Settings, redis_url: str, redis_prefix: str
) -> None:
    orgs = list(range(1, 13))
    runs: list[tuple[int, int]] = []

    async def listed() -> list[int]:
        return orgs

    async def score(org_id: int, now: int) -> None:
        await asyncio.sleep(0.05)
        runs.append((org_id, now))

    queue = f"{redis_prefix}queue"
    runner = ArqRunner(redis_url, queue)
    runner.register("score", OrgJob("score", listed, score))
    await runner.start()
    database = Database(settings)

    def worker(name: str) -> Worker:
        periodic = PeriodicJob(runner, database, redis_prefix, name)
        return Worker(
            functions=[
                func(periodic.run, name=PERIODIC_FUNCTION),  # type: ignore[arg-type]
                func(periodic.run_org, name=ORG_FUNCTION),  # type: ignore[arg-type]
            ],
            queue_name=queue,
            redis_pool=runner.pool,
            max_jobs=2,
            poll_delay=0.02,
            burst=True,
            handle_signals=False,
        )

    workers = [worker("w1"), worker("w2")]
    try:
        assert await runner.enqueue_slot("score", 600_000, 1, interval_ms=60_000)
        await asyncio.gather(*(w.async_run() for w in workers))
        # The slot's run only split the work: every org ran once, at the slot's time.
        assert sorted(runs) == [(org, 600_000) for org in orgs]
        async with database.session() as session:
            rows = (await session.scalars(select(JobRun).order_by(JobRun.id))).all()
        assert [(r.slot_ms, r.fence) for r in rows if r.name == "score"] == [(600_000, 1)]
        shares = {r.name: r.worker for r in rows if r.name != "score"}
        assert sorted(shares) == sorted(f"score@{org}" for org in orgs)
        assert set(shares.values()) == {"w1", "w2"}
        # A share delivered again (its worker died after the run) is not run twice.
        periodic = PeriodicJob(runner, database, redis_prefix, "w3")
        assert await periodic.run_org({"redis": runner.pool}, "score", 3, 600_000, 1) == "done"
        assert len(runs) == len(orgs)
    finally:
        await runner.stop()
        await database.dispose()


async def test_the_redis_hub_reaches_other_processes_hubs(
    redis_url: str, redis_prefix: str
) -> None:
    publisher = RedisHub(redis_url, redis_prefix)
    listener = RedisHub(redis_url, redis_prefix)
    probe = aioredis.Redis.from_url(redis_url)
    try:
        async with listener.subscribe("org:1") as one, listener.subscribe("org:1") as two:
            # Wait until Redis has the subscription before publishing.
            deadline = time.monotonic() + 5
            while (await probe.pubsub_numsub(f"{redis_prefix}org:1"))[0][1] < 1:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.02)
            await publisher.publish("org:2", {"n": 0})
            await publisher.publish("org:1", {"n": 1, "values": {"a": 1.5}})
            got = [await asyncio.wait_for(s.get(), 5) for s in (one, two)]
            assert got == [{"n": 1, "values": {"a": 1.5}}] * 2
            assert one.queue.empty()
            assert listener.subscriber_count("org:1") == 2
        assert listener.subscriber_count("org:1") == 0
    finally:
        await probe.aclose()
        await publisher.close()
        await listener.close()
