"""Ingest throughput (over HTTP and straight into the store) and query latency, on SQLite and
PostgreSQL.

    python -m bench.ingest [--samples 500000] [--skip-postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from rich.progress import Progress

from bench._record import record, table
from bench._server import (
    DEFAULT_POSTGRES,
    api_key,
    cpu_seconds,
    postgres_database,
    server_process,
)
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.migrate import upgrade
from failcast.models import Organization, Series, Service
from failcast.store.samples import write_sample_columns

BATCH = 5000
NOW = int(time.time())


def batches(total: int, services: int = 20, metrics: int = 10) -> list[bytes]:
    """Pre-encoded JSON bodies, so the figure measures the server rather than the client."""
    series = [(f"svc-{s}", f"metric_{m}") for s in range(services) for m in range(metrics)]
    bodies = []
    for start in range(0, total, BATCH):
        samples = []
        for i in range(start, min(total, start + BATCH)):
            service, metric = series[i % len(series)]
            samples.append(
                {
                    "service": service,
                    "metric": metric,
                    "labels": {"region": "eu"},
                    "ts": NOW - 86_000 + i // len(series),
                    "value": float(i % 1000),
                }
            )
        bodies.append(json.dumps({"samples": samples}).encode())
    return bodies


def http_ingest(
    url: str, key: str, bodies: list[bytes], clients: int, pid: int
) -> tuple[float, float]:
    """Samples/s, and the server's CPU milliseconds per batch."""
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}

    def send(chunk: list[bytes]) -> int:
        sent = 0
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            for body in chunk:
                response = http.post("/api/v1/metrics", content=body)
                response.raise_for_status()
                sent += int(response.json()["accepted"])
        return sent

    chunks = [bodies[i::clients] for i in range(clients)]
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(send, chunks))
    elapsed = time.perf_counter() - started
    return total / elapsed, (cpu_seconds(pid) - cpu) * 1000 / len(bodies)


def query_latency(url: str, key: str, pid: int, runs: int = 200) -> tuple[float, float, float]:
    """p50 and p99 (ms) of a 24 h range of 1-minute data: 1,440 points of one series, and the
    server's CPU milliseconds per query."""
    headers = {"Authorization": f"Bearer {key}"}
    day = [
        {"service": "query-svc", "metric": "latency_ms", "ts": NOW - 86_400 + 60 * i, "value": i}
        for i in range(1440)
    ]
    with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
        http.post("/api/v1/metrics", json={"samples": day}).raise_for_status()
        params: dict[str, str | int] = {
            "service": "query-svc",
            "metric": "latency_ms",
            "start": NOW - 86_400,
            "end": NOW,
        }
        for _ in range(10):
            http.get("/api/v1/metrics", params=params)
        timings = []
        cpu = cpu_seconds(pid)
        for _ in range(runs):
            started = time.perf_counter()
            response = http.get("/api/v1/metrics", params=params)
            timings.append((time.perf_counter() - started) * 1000)
            assert len(response.json()["series"][0]["points"]) == 1440
        cpu_ms = (cpu_seconds(pid) - cpu) * 1000 / runs
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.99) - 1], cpu_ms


async def store_ingest(settings: Settings, total: int) -> float:
    """Samples/s written straight through the store's bulk path, in 5,000-row transactions."""
    database = Database(settings)
    try:
        async with database.session() as session:
            org = Organization(name="store-bench", slug=f"store-bench-{time.time_ns()}")
            session.add(org)
            await session.flush()
            service = Service(org_id=org.id, name="store")
            session.add(service)
            await session.flush()
            ids = []
            for m in range(200):
                series = Series(
                    org_id=org.id, service_id=service.id, metric=f"m{m}", labels={}, labels_key="[]"
                )
                session.add(series)
                await session.flush()
                ids.append(series.id)
            await session.commit()
        series_ids = [ids[i % 200] for i in range(total)]
        ts = [(NOW - 86_000 + i // 200) * 1000 for i in range(total)]
        values = [float(i) for i in range(total)]
        started = time.perf_counter()
        async with database.session() as session:
            for start in range(0, total, BATCH):
                end = start + BATCH
                await write_sample_columns(
                    session, series_ids[start:end], ts[start:end], values[start:end]
                )
                await session.commit()
        return total / (time.perf_counter() - started)
    finally:
        await database.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--samples", type=int, default=500_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    bodies = batches(args.samples)
    load_before = os.getloadavg()[0]
    results: list[list[object]] = []
    engines = ["sqlite"] + ([] if args.skip_postgres else ["postgresql"])
    with Progress() as progress:
        task = progress.add_task("ingest bench", total=len(engines) * 3)
        for engine in engines:
            with tempfile.TemporaryDirectory() as tmp:
                if engine == "sqlite":
                    store_settings = Settings(data_dir=Path(tmp) / "store")
                    upgrade(store_settings)
                    direct = asyncio.run(store_ingest(store_settings, args.samples))
                    progress.advance(task)
                    with server_process(Path(tmp) / "http") as (url, pid):
                        key = api_key(url)
                        over_http, batch_cpu = http_ingest(url, key, bodies, args.clients, pid)
                        progress.advance(task)
                        p50, p99, query_cpu = query_latency(url, key, pid)
                        progress.advance(task)
                else:
                    with postgres_database(DEFAULT_POSTGRES) as pg_url:
                        store_settings = Settings(database_url=pg_url, data_dir=Path(tmp))
                        upgrade(store_settings)
                        direct = asyncio.run(store_ingest(store_settings, args.samples))
                        progress.advance(task)
                    with (
                        postgres_database(DEFAULT_POSTGRES) as pg_url,
                        server_process(Path(tmp), pg_url) as (url, pid),
                    ):
                        key = api_key(url)
                        over_http, batch_cpu = http_ingest(url, key, bodies, args.clients, pid)
                        progress.advance(task)
                        p50, p99, query_cpu = query_latency(url, key, pid)
                        progress.advance(task)
            results.append(
                [
                    engine,
                    f"{over_http:,.0f}",
                    f"{batch_cpu:.1f}",
                    f"{direct:,.0f}",
                    f"{p50:.1f}",
                    f"{p99:.1f}",
                    f"{query_cpu:.1f}",
                ]
            )
            print(
                engine,
                f"http={over_http:,.0f}/s ({batch_cpu:.1f} ms CPU/batch) store={direct:,.0f}/s"
                f" p50={p50:.1f}ms p99={p99:.1f}ms ({query_cpu:.1f} ms CPU/query)",
            )

    load_after = os.getloadavg()[0]
    body = table(
        [
            "store",
            "HTTP ingest (samples/s)",
            "server CPU per batch (ms)",
            "store ingest (samples/s)",
            "query p50 (ms)",
            "query p99 (ms)",
            "server CPU per query (ms)",
        ],
        results,
    )
    body += (
        f"\n\n{args.samples:,} samples over 200 series in batches of {BATCH:,}. HTTP: one server"
        f" process, {args.clients} client threads on the same machine, bodies encoded beforehand."
        " Store: `write_sample_columns` (the bulk path under HTTP ingest and `write_samples`) in"
        " one transaction per batch (executemany upsert on SQLite, binary COPY + INSERT ... ON"
        " CONFLICT on PostgreSQL). Query: `GET /api/v1/metrics` for a 24 h"
        " range of 1-minute data (1,440 points), 200 requests after 10 warm-ups, over HTTP."
        "\n\nGoals: HTTP >= 50,000 samples/s; store on PostgreSQL >= 250,000 samples/s;"
        " query p99 < 20 ms."
        f"\n\nThe machine is shared: its 1-minute load average was {load_before:.1f} when the run"
        f" started and {load_after:.1f} when it ended, on {os.cpu_count()} cores. Where it"
        " exceeds the core count, the throughputs and latencies above are pessimistic; the"
        " server's CPU time per batch and per query (read from /proc, all its threads, not"
        " PostgreSQL's own processes) is the steadier measure: 5,000 divided by the CPU"
        " seconds per batch is the rate one free core would sustain."
    )
    record("ingest", "Ingestion and query", body)


if __name__ == "__main__":
    main()
