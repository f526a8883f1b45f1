from __future__ import annotations

import asyncio

import pytest

from failcast.jobs.runner import InProcessRunner, OrgJob


async def test_submitted_tasks_run_with_their_arguments_and_bounded_concurrency() -> None:
    runner = InProcessRunner(concurrency=2)
    running = 0
    peak = 0
    done: list[int] = []

    async def work(n: int) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        running -= 1
        done.append(n)

    runner.register("work", work)
    await runner.start()
    for n in range(6):
        await runner.submit("work", n=n)
    await runner.drain()
    await runner.stop()
    assert sorted(done) == list(range(6))
    assert peak == 2


async def test_a_failing_task_is_logged_and_does_not_stop_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = InProcessRunner()
    done: list[str] = []

    async def boom() -> None:
        raise RuntimeError("kaput")

    async def fine() -> None:
        done.append("fine")

    runner.register("boom", boom)
    runner.register("fine", fine)
    await runner.start()
    await runner.submit("boom")
    await runner.submit("fine")
    await runner.stop()
    assert done == ["fine"]
    assert any("task failed" in r.message for r in caplog.records)


async def test_unknown_and_duplicate_tasks_are_refused() -> None:
    runner = InProcessRunner()

    async def task() -> None:
        return None

    runner.register("t", task)
    with pytest.raises(ValueError):
        runner.register("t", task)
    with pytest.raises(KeyError):
        await runner.submit("missing")


async def test_periodic_jobs_fire_on_their_interval() -> None:
    runner = InProcessRunner()
    fired = asyncio.Event()
    count = 0

    async def tick() -> None:
        nonlocal count
        count += 1
        if count == 3:
            fired.set()

    runner.register("tick", tick)
    runner.every(0.01, "tick")
    await runner.start()
    await asyncio.wait_for(fired.wait(), timeout=5)
    await runner.stop()
    assert count >= 3


async def test_an_org_job_runs_every_org_at_one_time_and_isolates_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran: list[tuple[int, int]] = []
    release = asyncio.Event()

    async def orgs() -> list[int]:
        return [1, 2, 3]

    async def run_org(org_id: int, now: int) -> None:
        if org_id == 2:
            raise RuntimeError("org 2 is broken")
        await release.wait()
        ran.append((org_id, now))

    job = OrgJob("score", orgs, run_org)
    first = asyncio.create_task(job(now=5_000))
    await asyncio.sleep(0)
    # A pass still running makes an overlapping one a no-op instead of a second pass.
    assert await job(now=6_000) == 0
    release.set()
    assert await first == 2
    assert ran == [(1, 5_000), (3, 5_000)]
    assert "org job failed" in caplog.text


async def test_stopping_cancels_a_task_that_outlasts_the_grace() -> None:
    runner = InProcessRunner()
    finished: list[str] = []
    cancelled = asyncio.Event()
    never = asyncio.Event()

    async def quick() -> None:
        finished.append("quick")

    async def endless() -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runner.register("quick", quick)
    runner.register("endless", endless)
    await runner.start()
    await runner.submit("quick")
    await runner.submit("endless")
    await runner.stop(grace_seconds=0.05)
    assert finished == ["quick"]
    assert cancelled.is_set()
