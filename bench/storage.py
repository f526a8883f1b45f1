"""Bytes on disk per sample: Failcast on SQLite and PostgreSQL against Prometheus' TSDB, for a
noisy gauge and for a counter, fed the same remote-write payloads in one run.

    python -m bench.storage [--series 100] [--hours 24] [--interval 15] [--skip-postgres]
                            [--skip-prometheus]

Each kind of series goes to fresh stores of its own. Failcast takes the data in two ways: as
a backfill (measured with every sample still a row of the head, then after one pass of the
store's compaction job), and as it arrives (the job runs between requests on a clock that
follows the data). Prometheus is measured on the blocks it has compacted (its head lives in
memory and its write-ahead log).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from failcast.integrations.proto import remote_pb2

from bench._record import record, table
from bench._server import api_key, postgres_database, server
from bench.remote_write import PROMETHEUS, Prometheus, send_all
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.integrations.remote_write import encode_write_request
from failcast.jobs.maintenance import StoreJobs

KINDS = ("noisy gauge", "counter")
# Points of every series per remote-write request: ten minutes at 15 s.
POINTS_PER_REQUEST = 40


def series_values(kind: str, n: int, seed: int) -> np.ndarray:
    """A noisy gauge (a slow wave plus full-precision noise) or a request counter."""
    rng = np.random.default_rng(seed)
    if kind == "noisy gauge":
        wave = 40 + 20 * np.sin(np.arange(n) * 2 * np.pi / 5760 + seed)
        return wave + rng.normal(0, 3, n)
    return np.cumsum(rng.poisson(20 + seed % 30, n)).astype(np.float64) + seed * 1000


def payloads(
    kind: str, series: int, points: int, start_ms: int, interval_ms: int
) -> tuple[list[bytes], list[int]]:
    """Time-ordered requests, each carrying the next slice of points of every series, and the
    time of each request's last point."""
    rng = np.random.default_rng(0)
    # Scrapes land a few milliseconds off the interval, as real ones do.
    ts = start_ms + np.arange(points) * interval_ms + rng.integers(-5, 6, points)
    values = [series_values(kind, points, s) for s in range(series)]
    bodies, stamps = [], []
    for lo in range(0, points, POINTS_PER_REQUEST):
        write = remote_pb2.WriteRequest()
        for s in range(series):
            item = write.timeseries.add()
            item.labels.add(name="__name__", value="bench_value")
            item.labels.add(name="instance", value=f"host-{s}:9100")
            item.labels.add(name="job", value="storage")
            for i in range(lo, min(lo + POINTS_PER_REQUEST, points)):
                item.samples.add(timestamp=int(ts[i]), value=float(values[s][i]))
        bodies.append(encode_write_request(write))
        stamps.append(int(ts[min(lo + POINTS_PER_REQUEST, points) - 1]))
    return bodies, stamps


@dataclass
class Sizes:
    head_bytes: int
    head_samples: int
    chunk_bytes: int
    chunk_samples: int

    def per_sample(self) -> float:
        return (self.head_bytes + self.chunk_bytes) / (self.head_samples + self.chunk_samples)


def sqlite_sizes(path: Path) -> Sizes:
    """Bytes of the pages each table and its indexes use (dbstat), and their sample counts."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        pages = dict(db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
        indexes = {
            table: [row[1] for row in db.execute(f"PRAGMA index_list({table})")]
            for table in ("sample", "sample_chunk")
        }
        size = {t: pages.get(t, 0) + sum(pages.get(i, 0) for i in ix) for t, ix in indexes.items()}
        head = db.execute("SELECT count(*) FROM sample").fetchone()[0]
        chunked = db.execute("SELECT coalesce(sum(count), 0) FROM sample_chunk").fetchone()[0]
    return Sizes(size["sample"], head, size["sample_chunk"], chunked)


async def _postgres_sizes(url: str) -> Sizes:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        # What autovacuum would do by itself: make the compacted head rows' space reusable and
        # give back the empty pages at the end of each partition.
        await db.execute("VACUUM")
        head_bytes = await db.fetchval(
            "SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
            "WHERE inhparent = 'sample'::regclass"
        )
        return Sizes(
            int(head_bytes),
            int(await db.fetchval("SELECT count(*) FROM sample")),
            int(await db.fetchval("SELECT pg_total_relation_size('sample_chunk')")),
            int(await db.fetchval("SELECT coalesce(sum(count), 0) FROM sample_chunk")),
        )
    finally:
        await db.close()


def until(done: Callable[[], bool], what: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(1)


async def _vacuum(url: str) -> None:
    import asyncpg

    db = await asyncpg.connect(url)
    try:
        await db.execute("VACUUM sample, sample_chunk")
    finally:
        await db.close()


async def _send_and_compact(
    write_url: str,
    auth: dict[str, str],
    bodies: list[bytes],
    stamps: list[int] | None,
    settings: Settings,
) -> tuple[int, float]:
    """Send the requests; run the store's compaction job once after the last one (a backfill),
    or after each one on a clock that follows the data (samples arriving as they are taken,
    compacted every ten minutes of data). Return the samples compacted and the seconds spent.

    After a pass that moved samples, PostgreSQL gets the VACUUM its autovacuum would run, so
    that new head rows reuse the space of the compacted ones.
    """
    database = Database(settings)
    clock = [0]
    jobs = StoreJobs(database, settings, clock=lambda: clock[0])
    moved, seconds = 0, 0.0
    try:
        batches = [bodies] if stamps is None else [[body] for body in bodies]
        for k, batch in enumerate(batches):
            await asyncio.to_thread(send_all, write_url, batch, 2, auth)
            clock[0] = int(time.time() * 1000) if stamps is None else stamps[k]
            started = time.perf_counter()
            report = await jobs.compact()
            seconds += time.perf_counter() - started
            moved += report.samples
            if report.samples and settings.database_url and stamps is not None:
                await _vacuum(settings.database_url)
    finally:
        await database.dispose()
    return moved, seconds


def measure_failcast(
    db_url: str, bodies: list[bytes], stamps: list[int] | None
) -> tuple[Sizes, Sizes, float]:
    """Sizes with every sample in the head and after compaction, for a backfill (`stamps`
    None), else sizes after ingesting as the samples arrive, compacting as time passes;
    and the compaction's samples per second."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir, database_url=db_url)

        def sizes() -> Sizes:
            if db_url:
                return asyncio.run(_postgres_sizes(db_url))
            return sqlite_sizes(data_dir / "failcast.db")

        # The server only ingests and the compaction job runs here, at the times the
        # scenario gives; the server's live scoring would add score series of its own.
        os.environ["FAILCAST_PERIODIC_JOBS"] = "false"
        with server(data_dir, db_url) as url:
            auth = {"Authorization": f"Bearer {api_key(url)}"}
            write_url = url + "/api/v1/prometheus/write"
            if stamps is None:
                send_all(write_url, bodies, 2, auth)
                before = sizes()
                bodies = []
            moved, seconds = asyncio.run(
                _send_and_compact(write_url, auth, bodies, stamps, settings)
            )
        after = sizes()
        if stamps is not None:
            before = Sizes(after.head_bytes, after.head_samples, 0, 0)
    return before, after, moved / seconds


def measure_prometheus(bodies: list[bytes], total: int) -> tuple[float, int, float]:
    """Bytes per sample in Prometheus' blocks, the samples in them, and of its whole directory."""
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        with Prometheus(directory) as write_url:
            send_all(write_url, bodies, 1, {})

            def blocks() -> list[Path]:
                return [m.parent for m in (directory / "data").glob("*/meta.json")]

            def block_samples() -> int:
                return sum(
                    json.loads((b / "meta.json").read_text())["stats"]["numSamples"]
                    for b in blocks()
                )

            # Prometheus compacts its head once a minute, into 2 h blocks while it spans more
            # than 3 h; wait until a pass no longer changes the blocks.
            until(lambda: block_samples() > 0, "Prometheus blocks", 180)
            seen = -1
            while seen != block_samples():
                seen = block_samples()
                time.sleep(70)
            in_blocks = block_samples()
            block_bytes = sum(
                f.stat().st_size for b in blocks() for f in b.rglob("*") if f.is_file()
            )
            everything = sum(
                f.stat().st_size for f in (directory / "data").rglob("*") if f.is_file()
            )
    return block_bytes / in_blocks, in_blocks, everything / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=100, help="series of each kind")
    parser.add_argument("--hours", type=float, default=24)
    parser.add_argument("--interval", type=float, default=15, help="seconds between points")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-prometheus", action="store_true")
    args = parser.parse_args()
    os.environ["FAILCAST_DASHBOARD_ENABLED"] = "false"
    interval_ms = int(args.interval * 1000)
    points = int(args.hours * 3_600_000 / interval_ms)
    total = points * args.series
    now = int(time.time() * 1000)
    start_ms = now - 60_000 - points * interval_ms
    with_prometheus = PROMETHEUS.exists() and not args.skip_prometheus

    rows: list[list[object]] = []
    for kind in KINDS:
        bodies, stamps = payloads(kind, args.series, points, start_ms, interval_ms)
        print(f"{kind}: {args.series} series x {points} points, {len(bodies)} requests")
        stores: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [
            ("SQLite", lambda: nullcontext(""))
        ]
        if not args.skip_postgres:
            stores.append(("PostgreSQL", postgres_database))
        for name, database in stores:
            for scenario, times in (("backfill", None), ("as it arrives", stamps)):
                with database() as db_url:
                    before, after, rate = measure_failcast(db_url, bodies, times)
                assert after.head_samples + after.chunk_samples == total
                if times is None:
                    assert before.head_samples == total, (before.head_samples, total)
                rows.append(
                    [
                        kind,
                        f"Failcast on {name}, {scenario}",
                        f"{before.per_sample():.1f}",
                        f"{after.chunk_bytes / after.chunk_samples:.2f}",
                        f"{after.per_sample():.2f}",
                        f"{after.chunk_samples / total:.0%}",
                        f"{rate:,.0f}",
                    ]
                )
                print("  " + " | ".join(map(str, rows[-1][1:])))
        if with_prometheus:
            blocks, in_blocks, everything = measure_prometheus(bodies, total)
            rows.append(
                [
                    kind,
                    "Prometheus 2.42 (TSDB)",
                    "",
                    f"{blocks:.2f}",
                    f"{everything:.2f}",
                    f"{in_blocks / total:.0%}",
                    "",
                ]
            )
            print("  " + " | ".join(map(str, rows[-1][1:])))

    body = (
        f"{args.series} series of each kind, one point every {args.interval:g} s (a few ms of "
        f"jitter) for {args.hours:g} h: {total:,} samples per kind, sent as time-ordered "
        f"remote-write requests of {POINTS_PER_REQUEST} points per series. Noisy gauge: a slow "
        "wave plus normal noise at full float64 precision; counter: cumulative Poisson counts.\n\n"
        "Two ways in for Failcast: a *backfill* sends the whole day, then the store's compaction "
        "job (`StoreJobs.compact`, as a worker runs it) makes one pass; *as it arrives* sends "
        "the requests in time order and runs the job after each, on a clock that follows the "
        "data (ten minutes of data between passes; PostgreSQL gets the `VACUUM` its autovacuum "
        "would run after a pass that moved samples).\n\n"
        "Bytes on disk per sample. *Head*: bytes of the `sample` table per row in it (for a "
        "backfill, every sample before compaction, as the store kept them before chunks). "
        "*Compacted*: the `sample_chunk` table (rows, index, "
        "TOAST) over the samples in it, against Prometheus' 2 h blocks over theirs. *Samples "
        "at rest*: head plus chunks over every sample, the last open window and the grace hour "
        "still in the head (Prometheus: its whole data directory, write-ahead log included). "
        "SQLite sizes are the pages the tables and their indexes use (`dbstat`); PostgreSQL's "
        "are `pg_total_relation_size` after a plain `VACUUM`, the head's day partitions summed. "
        "Compaction rate: samples moved into chunks per second spent in the job, one process."
        "\n\n"
        + table(
            [
                "series",
                "store",
                "head",
                "compacted",
                "samples at rest",
                "share compacted",
                "compaction (samples/s)",
            ],
            rows,
        )
    )
    record("storage", "Bytes on disk per sample", body)


if __name__ == "__main__":
    main()
