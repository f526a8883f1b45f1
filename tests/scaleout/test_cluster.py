"""A scale-out cluster on loopback: two `failcast api` and two `failcast worker --schedule`
processes over one fresh PostgreSQL database and Redis.

Ingest goes through both APIs while the worker that holds the scheduler lease is killed with
SIGKILL. Every acknowledged sample must be stored exactly once, every scheduled slot must
run at most once (and the slots must keep coming after the kill), and WebSocket clients on
both APIs must hear the simulator ticks that workers publish through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis.asyncio as aioredis
import websockets
from scaleout_env import free_port, fresh_postgres, redis_prefix, redis_url

from failcast.store.codec import decode

__all__ = ["fresh_postgres", "redis_prefix", "redis_url"]

pytestmark = pytest.mark.slow

SERVICE = "load"
METRICS = 10
BATCHES_PER_API = 8
BATCH = 1000
TICK_SECONDS = 0.5


@dataclass
class Cluster:
    env: dict[str, str]
    logs: Path
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *args: str) -> None:
        log = (self.logs / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "failcast.cli", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def kill(self, name: str) -> None:
        self.processes[name].send_signal(signal.SIGKILL)
        self.processes[name].wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def log_tail(self) -> str:
        parts = []
        for path in sorted(self.logs.glob("*.log")):
            parts.append(f"--- {path.name}\n" + path.read_text(errors="replace")[-2000:])
        return "\n".join(parts)


async def until(
    check: Callable[[], Awaitable[bool]], what: str, seconds: float, cluster: Cluster
) -> None:
    """Poll `check` until it holds, at most `seconds` seconds."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{cluster.log_tail()}")
        await asyncio.sleep(0.1)


@pytest.fixture
def cluster(
    fresh_postgres: str, redis_url: str, redis_prefix: str, tmp_path: Path
) -> Iterator[Cluster]:
    env = os.environ | {
        "FAILCAST_ENV": "development",
        "FAILCAST_DATABASE_URL": fresh_postgres,
        "FAILCAST_REDIS_URL": redis_url,
        "FAILCAST_REDIS_PREFIX": redis_prefix,
        "FAILCAST_DATA_DIR": str(tmp_path / "data"),
        "FAILCAST_DASHBOARD_ENABLED": "false",
        "FAILCAST_LOG_LEVEL": "WARNING",
        "FAILCAST_LOG_JSON": "false",
        "FAILCAST_ARGON2_TIME_COST": "1",
        "FAILCAST_ARGON2_MEMORY_COST": "1024",
        "FAILCAST_SIMULATOR_TICK_SECONDS": str(TICK_SECONDS),
        "FAILCAST_SIMULATOR_SERVICES": "3",
        "FAILCAST_ROLLUP_INTERVAL_SECONDS": "1",
        "FAILCAST_WORKER_JOB_TIMEOUT": "5",
        "FAILCAST_SCHEDULER_LOCK_TTL": "2",
    }
    logs = tmp_path / "logs"
    logs.mkdir()
    running = Cluster(env, logs)
    try:
        yield running
    finally:
        running.stop_all()


@dataclass
class Listener:
    """A WebSocket client of one API that keeps the simulator ticks it hears."""

    url: str
    ticks: list[dict[str, Any]] = field(default_factory=list)

    async def listen(self) -> None:
        async with websockets.connect(self.url) as socket:
            async for frame in socket:
                message = json.loads(frame)
                if message.get("type") == "tick":
                    self.ticks.append(message)

    def heard(self, after: float = 0.0) -> bool:
        return any(tick["ts"] > after for tick in self.ticks)


@contextlib.asynccontextmanager
async def listening(listeners: list[Listener]) -> AsyncIterator[Callable[[float], Awaitable[bool]]]:
    """Run the listeners; yields a check that every one heard a tick after a given time."""
    tasks = [asyncio.create_task(listener.listen()) for listener in listeners]

    async def all_heard(after: float) -> bool:
        for task in tasks:
            if task.done():
                task.result()
                raise AssertionError("a WebSocket closed")
        return all(listener.heard(after) for listener in listeners)

    try:
        yield all_heard
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def stored_samples(pg: asyncpg.Connection) -> list[tuple[str, int, float]]:
    """The service's samples, in the head or already compacted into chunks by a worker."""
    # One snapshot for both tables: a compaction committing between the reads moves rows.
    async with pg.transaction(isolation="repeatable_read", readonly=True):
        head, chunks = await _head_and_chunks(pg)
    stored = [(r["metric"], r["ts"], r["value"]) for r in head]
    for row in chunks:
        ts, values = decode(row["data"])
        stored.extend(zip([row["metric"]] * len(ts), ts.tolist(), values.tolist(), strict=True))
    return stored


async def _head_and_chunks(pg: asyncpg.Connection) -> tuple[list[Any], list[Any]]:
    head = await pg.fetch(
        "SELECT se.metric, s.ts, s.value FROM sample s "
        "JOIN series se ON se.id = s.series_id JOIN service sv ON sv.id = se.service_id "
        "WHERE sv.name = $1",
        SERVICE,
    )
    chunks = await pg.fetch(
        "SELECT se.metric, c.data FROM sample_chunk c "
        "JOIN series se ON se.id = c.series_id JOIN service sv ON sv.id = se.service_id "
        "WHERE sv.name = $1",
        SERVICE,
    )
    return head, chunks


def batch_body(api: int, batch: int, base_s: int) -> list[dict[str, Any]]:
    first = (api * BATCHES_PER_API + batch) * BATCH
    return [
        {
            "service": SERVICE,
            "metric": f"m{g % METRICS}",
            "ts": base_s + g // METRICS,
            "value": float(g),
        }
        for g in range(first, first + BATCH)
    ]


async def test_a_cluster_loses_nothing_and_runs_each_slot_once(
    cluster: Cluster, fresh_postgres: str, redis_url: str, redis_prefix: str
) -> None:
    ports = [free_port(), free_port()]
    for n, port in enumerate(ports):
        cluster.start(f"api{n}", "api", "--host", "127.0.0.1", "--port", str(port))
    # Both workers also compete for the scheduler lease: two would-be schedulers, one leads.
    for name in ("worker0", "worker1"):
        cluster.start(name, "worker", "--schedule")
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    http = [httpx.AsyncClient(base_url=url, timeout=30) for url in urls]
    pg = await asyncpg.connect(fresh_postgres)
    redis = aioredis.Redis.from_url(redis_url)
    try:

        async def ready() -> bool:
            for client in http:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get("/ready")).status_code != 200:
                        return False
                    continue
                return False
            return True

        # Both APIs migrate the empty database at start, one after the other; workers and
        # schedulers start alongside and fail their first jobs until the schema is there.
        await until(ready, "both APIs to be ready", 90, cluster)

        token = (
            await http[0].post(
                "/api/v1/register",
                json={
                    "email": "ops@example.com",
                    "password": "a long passphrase",
                    "org_name": "Ops",
                },
            )
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        response = await http[1].put(
            "/api/v1/chaos/simulator", json={"enabled": True}, headers=auth
        )
        assert response.status_code == 200
        key = (
            await http[1].post(
                "/api/v1/api-keys",
                json={"name": "load", "scopes": ["ingest", "read"]},
                headers=auth,
            )
        ).json()["key"]

        listeners = [
            Listener(url.replace("http://", "ws://") + f"/api/v1/stream?token={token}")
            for url in urls
        ]
        async with listening(listeners) as all_heard:
            await until(
                lambda: all_heard(0.0),
                "simulator ticks on both APIs' WebSockets",
                45,
                cluster,
            )

            # Ingest through both APIs; once a third of the batches are in, kill the worker
            # that leads the scheduling.
            base_s = (int(time.time()) // 3600 - 3) * 3600
            acknowledged: list[int] = []
            total = 2 * BATCHES_PER_API

            async def ingest(api: int) -> None:
                headers = {"Authorization": f"Bearer {key}"}
                for batch in range(BATCHES_PER_API):
                    body = {"samples": batch_body(api, batch, base_s)}
                    response = await http[api].post("/api/v1/metrics", json=body, headers=headers)
                    assert response.status_code == 200, response.text
                    assert response.json()["accepted"] == BATCH
                    acknowledged.append(api * BATCHES_PER_API + batch)

            async def kill_worker_midway() -> tuple[float, int]:
                await until(lambda: _true(len(acknowledged) >= total // 3), "ingest", 60, cluster)
                # Usually 1; a worker starved of CPU for a whole lease may already have lost it.
                epoch = int(await redis.get(f"{redis_prefix}scheduler:epoch"))
                cluster.kill(await _leader(cluster, redis, redis_prefix))
                return time.time(), epoch

            _, _, (killed_at, epoch_at_kill) = await asyncio.gather(
                ingest(0), ingest(1), kill_worker_midway()
            )
            assert sorted(acknowledged) == list(range(total))

            stored = await stored_samples(pg)
            expected = {
                (f"m{g % METRICS}", (base_s + g // METRICS) * 1000, float(g))
                for g in range(total * BATCH)
            }
            assert len(stored) == total * BATCH
            assert set(stored) == expected
            # They sit in day partitions, not in the catch-all one.
            assert await pg.fetchval("SELECT count(*) FROM sample_partitions.sample_default") == 0

            # The surviving worker takes the lease over and keeps running every slot.
            async def ticks_since(since_ms: int) -> int:
                count: int = await pg.fetchval(
                    "SELECT count(*) FROM job_run WHERE name = 'simulator.tick' AND slot_ms > $1",
                    since_ms,
                )
                return count

            failover_ms = int(killed_at * 1000)
            await until(
                lambda: _at_least(ticks_since(failover_ms), 4),
                "ticks after the failover",
                30,
                cluster,
            )
            assert int(await redis.get(f"{redis_prefix}scheduler:epoch")) == epoch_at_kill + 1
            await until(
                lambda: all_heard(failover_ms / 1000),
                "ticks on both WebSockets after the kill",
                20,
                cluster,
            )

        duplicates = await pg.fetch(
            "SELECT name, slot_ms, count(*) AS runs FROM job_run "
            "GROUP BY name, slot_ms HAVING count(*) > 1"
        )
        assert [dict(r) for r in duplicates] == []
        slots = [
            r["slot_ms"]
            for r in await pg.fetch(
                "SELECT slot_ms FROM job_run WHERE name = 'simulator.tick' ORDER BY slot_ms"
            )
        ]
        # Every slot is run, except around the kill: slots the dead worker had taken (a slot
        # expires 10 s after it is due, before its retry), and those that fell between its
        # death and the lease passing to the other worker.
        step = int(TICK_SECONDS * 1000)
        lease_ms = 2000
        window = range(failover_ms - 10_000, failover_ms + lease_ms + 2 * step)
        expected = set(range(slots[0], slots[-1] + step, step))
        missing = sorted(slot for slot in expected - set(slots) if slot not in window)
        assert missing == [], (missing, failover_ms)

        # Live scoring is split by org: each scheduled slot of `detect.score`, once the org
        # has series, ran the org's share exactly once (no duplicates above), whichever worker
        # took it, and none is missing outside the failover.
        org_id = await pg.fetchval("SELECT id FROM organization WHERE name = 'Ops'")

        async def scored_slots() -> int:
            count: int = await pg.fetchval(
                "SELECT count(*) FROM job_run WHERE name = $1", f"detect.score@{org_id}"
            )
            return count

        await until(lambda: _at_least(scored_slots(), 2), "live scoring of the org", 40, cluster)
        scored = await pg.fetch(
            "SELECT slot_ms, worker FROM job_run WHERE name = $1 ORDER BY slot_ms",
            f"detect.score@{org_id}",
        )
        dispatched = {
            r["slot_ms"]
            for r in await pg.fetch("SELECT slot_ms FROM job_run WHERE name = 'detect.score'")
        }
        first = scored[0]["slot_ms"]
        score_window = range(failover_ms - 20_000, failover_ms + lease_ms + 20_000)
        unscored = sorted(
            slot
            for slot in dispatched - {r["slot_ms"] for r in scored}
            if slot > first and slot not in score_window
        )
        assert unscored == [], (unscored, failover_ms)

        # Hourly rollups of the ingested hours answer a 1 h-step query like the raw samples.
        hours = {(base_s + g // METRICS) // 3600 * 3600 for g in range(total * BATCH)}
        await until(
            lambda: _zero(
                pg.fetchval(
                    "SELECT count(*) FROM sample_rollup_dirty WHERE hour_ts < $1",
                    (max(hours) + 3600) * 1000,
                )
            ),
            "the rollup job",
            30,
            cluster,
        )
        rolled = await pg.fetchval(
            "SELECT count(*) FROM sample_rollup r JOIN series se ON se.id = r.series_id "
            "WHERE se.metric = 'm3'"
        )
        assert rolled == len(hours)
        response = await http[1].get(
            "/api/v1/metrics",
            params={
                "service": SERVICE,
                "metric": "m3",
                "start": base_s,
                "end": base_s + 4 * 3600,
                "step": "1h",
                "agg": "sum",
            },
            headers={"Authorization": f"Bearer {key}"},
        )
        points = response.json()["series"][0]["points"]
        by_hour: dict[int, float] = {}
        for g in range(3, total * BATCH, METRICS):
            hour = (base_s + g // METRICS) // 3600 * 3600
            by_hour[hour] = by_hour.get(hour, 0.0) + float(g)
        assert [(int(ts), value) for ts, value in points] == sorted(by_hour.items())
    finally:
        for client in http:
            await client.aclose()
        await pg.close()
        await redis.aclose()


async def _true(value: bool) -> bool:
    return value


async def _at_least(count: Awaitable[int], n: int) -> bool:
    return await count >= n


async def _zero(count: Awaitable[Any]) -> bool:
    return int(await count) == 0


async def _leader(cluster: Cluster, redis: aioredis.Redis, prefix: str) -> str:
    """Which scheduler process holds the lease: its value starts with `host:pid:`."""
    holder = await redis.get(f"{prefix}scheduler:leader")
    assert holder is not None
    pid = int(holder.decode().split(":")[1])
    return next(name for name, p in cluster.processes.items() if p.pid == pid)
