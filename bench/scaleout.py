"""Scale-out throughput: HTTP ingest with one and two `failcast api` processes, and live scoring
of many orgs by one and two `failcast worker` processes, on PostgreSQL and Redis.

    python -m bench.scaleout [--samples 200000] [--orgs 24] [--hours 6]
    python -m bench.scaleout --rollups      # partitions and rollups on PostgreSQL only

Needs PostgreSQL (FAILCAST_BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/test)
and Redis (FAILCAST_BENCH_REDIS_URL, default redis://127.0.0.1:6379/13; each run uses fresh keys).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
from rich.progress import Progress
from sqlalchemy import func, select, text

from bench._record import record, table
from bench._server import BENCH_ENV, DEFAULT_POSTGRES, api_key, free_port, postgres_database
from bench.ingest import batches
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.migrate import upgrade
from failcast.detect.tasks import SCORE_TASK
from failcast.jobs.arq_runner import ArqRunner
from failcast.jobs.maintenance import StoreJobs
from failcast.models import JobRun, Organization, Series, Service
from failcast.store.partitions import DAY_MS
from failcast.store.ranges import Aggregation
from failcast.store.rollups import HOUR_MS
from failcast.store.samples import read_range, write_samples
from failcast.timeutil import now_ms

POSTGRES = os.environ.get("FAILCAST_BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
REDIS = os.environ.get("FAILCAST_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def _env(database_url: str, prefix: str, data_dir: Path) -> dict[str, str]:
    return (
        os.environ
        | BENCH_ENV
        | {
            "FAILCAST_DATABASE_URL": database_url,
            "FAILCAST_REDIS_URL": REDIS,
            "FAILCAST_REDIS_PREFIX": prefix,
            "FAILCAST_DATA_DIR": str(data_dir),
            "FAILCAST_DASHBOARD_ENABLED": "false",
            "FAILCAST_RUN_MIGRATIONS_ON_START": "false",
        }
    )


@contextmanager
def processes(env: dict[str, str], *commands: list[str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    started = [
        subprocess.Popen(
            [sys.executable, "-m", "failcast.cli", *command],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for command in commands
    ]
    try:
        yield started
    finally:
        for process in started:
            process.terminate()
        for process in started:
            process.wait(timeout=30)


def wait_ready(urls: list[str]) -> None:
    deadline = time.monotonic() + 120
    for url in urls:
        while True:
            try:
                if httpx.get(url + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not become ready")
            time.sleep(0.2)


def ingest(urls: list[str], key: str, bodies: list[bytes], clients: int) -> float:
    """Samples/s with `clients` threads spread evenly over the API processes."""
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}

    def send(n: int) -> int:
        sent = 0
        with httpx.Client(base_url=urls[n % len(urls)], headers=headers, timeout=120) as http:
            for body in bodies[n::clients]:
                response = http.post("/api/v1/metrics", content=body)
                response.raise_for_status()
                sent += int(response.json()["accepted"])
        return sent

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(send, range(clients)))
    return total / (time.perf_counter() - started)


def ingest_figure(apis: int, samples: int, clients: int) -> float:
    bodies = batches(samples)
    prefix = f"bench{uuid.uuid4().hex[:6]}:"
    with tempfile.TemporaryDirectory() as tmp, postgres_database(POSTGRES) as url:
        upgrade(Settings(database_url=url, data_dir=Path(tmp)))
        ports = [free_port() for _ in range(apis)]
        commands = [["api", "--host", "127.0.0.1", "--port", str(p)] for p in ports]
        with processes(_env(url, prefix, Path(tmp)), *commands):
            urls = [f"http://127.0.0.1:{p}" for p in ports]
            wait_ready(urls)
            return ingest(urls, api_key(urls[0]), bodies, clients)


async def _seed_orgs(url: str, data_dir: Path, orgs: int, hours: int) -> int:
    """`orgs` orgs of 4 services x 5 metrics, one point a minute over the last `hours` hours;
    the number of samples written."""
    database = Database(Settings(database_url=url, data_dir=data_dir))
    end = now_ms() // 60_000 * 60_000
    points = hours * 60
    written = 0
    try:
        for n in range(orgs):
            async with database.session() as session:
                org = Organization(name=f"org {n}", slug=f"org-{n}")
                session.add(org)
                await session.flush()
                ids = []
                for s in range(4):
                    service = Service(org_id=org.id, name=f"svc-{s}")
                    session.add(service)
                    await session.flush()
                    for m in range(5):
                        row = Series(
                            org_id=org.id,
                            service_id=service.id,
                            metric=f"m{m}",
                            labels={},
                            labels_key="[]",
                        )
                        session.add(row)
                        await session.flush()
                        ids.append(row.id)
                rows = [
                    (sid, end - (points - i) * 60_000, 50.0 + 10.0 * ((i * 7 + k) % 13) / 13.0)
                    for k, sid in enumerate(ids)
                    for i in range(points)
                ]
                written += await write_samples(session, rows)
                await session.commit()
    finally:
        await database.dispose()
    return written


async def _enqueue_scoring(prefix: str, slot_ms: int) -> None:
    runner = ArqRunner(REDIS, f"{prefix}queue")
    runner.register(SCORE_TASK, _nothing)  # only the name is needed to enqueue
    await runner.start()
    try:
        assert await runner.enqueue_slot(SCORE_TASK, slot_ms, 1, interval_ms=60_000)
    finally:
        await runner.stop()


async def _nothing(**_: object) -> None:
    return None


def scoring_figure(workers: int, orgs: int, hours: int) -> tuple[float, float, int]:
    """One scheduled `detect.score` slot over `orgs` orgs, split into one job per org and run by
    `workers` workers: (orgs/s, samples scored/s, samples), from the first org's start to the
    last org's end as the workers record them in `job_run`."""
    prefix = f"bench{uuid.uuid4().hex[:6]}:"
    with tempfile.TemporaryDirectory() as tmp, postgres_database(POSTGRES) as url:
        upgrade(Settings(database_url=url, data_dir=Path(tmp)))
        samples = asyncio.run(_seed_orgs(url, Path(tmp), orgs, hours))
        with processes(_env(url, prefix, Path(tmp)), *[["worker"] for _ in range(workers)]):
            time.sleep(8)  # every worker is up and polling before the slot is queued
            asyncio.run(_enqueue_scoring(prefix, now_ms()))
            elapsed = asyncio.run(_wait_for_shares(url, Path(tmp), orgs))
    return orgs / elapsed, samples / elapsed, samples


async def _wait_for_shares(url: str, data_dir: Path, orgs: int) -> float:
    database = Database(Settings(database_url=url, data_dir=data_dir))
    share = f"{SCORE_TASK}@%"
    try:
        deadline = time.monotonic() + 600
        while True:
            async with database.session() as session:
                done = await session.scalar(select(func.count()).where(JobRun.name.like(share)))
                if done == orgs:
                    first, last = (
                        await session.execute(
                            select(func.min(JobRun.started_at), func.max(JobRun.finished_at)).where(
                                JobRun.name.like(share)
                            )
                        )
                    ).one()
                    return float((last - first).total_seconds())
            if time.monotonic() > deadline:
                raise RuntimeError(f"{done} of {orgs} orgs scored in 10 minutes")
            await asyncio.sleep(0.2)
    finally:
        await database.dispose()


async def _rollup_figures(url: str, data_dir: Path, series: int, days: int) -> dict[str, float]:
    settings = Settings(database_url=url, data_dir=data_dir)
    database = Database(settings)
    try:
        async with database.session() as session:
            org = Organization(name="rollups", slug="rollups")
            session.add(org)
            await session.flush()
            service = Service(org_id=org.id, name="svc")
            session.add(service)
            await session.flush()
            ids = []
            for k in range(series):
                row = Series(
                    org_id=org.id, service_id=service.id, metric=f"m{k}", labels={}, labels_key="[]"
                )
                session.add(row)
                await session.flush()
                ids.append(row.id)
            await session.commit()
        now = now_ms()
        end = now - now % HOUR_MS
        start = end - days * DAY_MS
        for day in range(days):
            rows = [
                (sid, start + day * DAY_MS + m * 60_000, float(m % 97))
                for sid in ids
                for m in range(1440)
            ]
            async with database.session() as session:
                await write_samples(session, rows)
                await session.commit()
        jobs = StoreJobs(database, settings, clock=lambda: now)
        began = time.perf_counter()
        await jobs.partitions()  # the backfill lands in the default partition: fold it out
        partition_s = time.perf_counter() - began
        began = time.perf_counter()
        hours = await jobs.rollups()
        rollup_s = time.perf_counter() - began

        async def median_ms(use_rollups: bool) -> float:
            timings = []
            async with database.session() as session:
                for _ in range(25):
                    began = time.perf_counter()
                    if use_rollups:
                        await read_range(
                            session,
                            ids[:1],
                            start,
                            end,
                            step_ms=HOUR_MS,
                            agg=Aggregation.avg,
                            limit=100_000,
                        )
                    else:
                        # The raw path: an unaligned start keeps rollups out of it.
                        await read_range(
                            session,
                            ids[:1],
                            start + 1,
                            end,
                            step_ms=HOUR_MS,
                            agg=Aggregation.avg,
                            limit=100_000,
                        )
                    timings.append((time.perf_counter() - began) * 1000)
            return statistics.median(timings[5:])

        raw_ms, rollup_ms = await median_ms(False), await median_ms(True)
        async with database.session() as session:
            sample_bytes = await session.scalar(
                text(
                    "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                    "WHERE inhparent = 'sample'::regclass"
                )
            )
            rollup_bytes = await session.scalar(
                text("SELECT pg_total_relation_size('sample_rollup')")
            )
        samples = series * days * 1440
        return {
            "samples": samples,
            "partition_s": partition_s,
            "rollup_s": rollup_s,
            "hours": len(hours),
            "raw_ms": raw_ms,
            "rollup_ms": rollup_ms,
            "sample_bytes": float(sample_bytes or 0) / samples,
            "rollup_bytes": float(rollup_bytes or 0) / (series * len(hours)),
        }
    finally:
        await database.dispose()


def rollups_figures(series: int, days: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, postgres_database(POSTGRES) as url:
        upgrade(Settings(database_url=url, data_dir=Path(tmp)))
        f = asyncio.run(_rollup_figures(url, Path(tmp), series, days))
    print(f)
    body = table(
        ["figure", "value"],
        [
            ["30-day query, 1 h step, one series: raw samples (ms, median)", f"{f['raw_ms']:.1f}"],
            ["the same from hourly rollups (ms, median)", f"{f['rollup_ms']:.1f}"],
            ["rollup pass over the backfill (s)", f"{f['rollup_s']:.1f}"],
            ["hours rolled up", f"{f['hours']:.0f}"],
            ["folding the backfill out of the default partition (s)", f"{f['partition_s']:.1f}"],
            ["bytes per raw sample (heap + primary key + BRIN)", f"{f['sample_bytes']:.0f}"],
            ["bytes per hourly rollup row", f"{f['rollup_bytes']:.0f}"],
        ],
    )
    body += (
        f"\n\n{f['samples']:,.0f} samples: {series} series, one point a minute for {days} days, "
        "written as a backfill, then one partition pass and one rollup pass "
        "(`python -m bench.scaleout --rollups`)."
    )
    record("scaleout-rollups", "Scale-out: partitions and rollups on PostgreSQL", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=200_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--orgs", type=int, default=24)
    parser.add_argument("--hours", type=int, default=6)
    parser.add_argument("--rollups", action="store_true", help="Only the rollup figures.")
    args = parser.parse_args()
    if args.rollups:
        rollups_figures(series=20, days=30)
        return

    rows: list[list[object]] = []
    with Progress() as progress:
        task = progress.add_task("scale-out bench", total=4)
        ingest_rates = []
        for apis in (1, 2):
            ingest_rates.append(ingest_figure(apis, args.samples, args.clients))
            progress.advance(task)
        scoring = []
        for workers in (1, 2):
            scoring.append(scoring_figure(workers, args.orgs, args.hours))
            progress.advance(task)
    for n in (0, 1):
        orgs_s, samples_s, _ = scoring[n]
        rows.append([n + 1, f"{ingest_rates[n]:,.0f}", f"{orgs_s:.2f}", f"{samples_s:,.0f}"])
        print(
            f"{n + 1} process(es): ingest {ingest_rates[n]:,.0f} samples/s,",
            f"scoring {orgs_s:.2f} orgs/s ({samples_s:,.0f} samples/s)",
        )
    body = table(
        [
            "API processes / workers",
            "HTTP ingest (samples/s)",
            "live scoring (orgs/s)",
            "live scoring (samples/s)",
        ],
        rows,
    )
    body += (
        f"\n\nIngest: {args.samples:,} samples over 200 series in batches of 5,000, "
        f"{args.clients} client threads spread over the `failcast api` processes (one uvicorn "
        "worker each), PostgreSQL with daily partitions. Scoring: one scheduled `detect.score` "
        f"slot over {args.orgs} orgs, each with 4 services x 5 metrics and one point a minute "
        f"for the last {args.hours} h ({scoring[0][2]:,} samples in all), scored from scratch "
        "(per-series detectors and a service-wide detector per service). The slot is split "
        "into one queued job per org; the figure runs from the first org's start to the last "
        "org's end as the workers record them in `job_run`. Everything, PostgreSQL and Redis "
        "included, shares the same two CPU cores, so a second process can only help where one "
        "process leaves a core idle."
    )
    record("scaleout", "Scale-out: API processes and workers", body)


if __name__ == "__main__":
    main()
