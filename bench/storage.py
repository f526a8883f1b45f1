"""Bytes on disk per sample: Failcast on SQLite and PostgreSQL against Prometheus' TSDB, for a
noisy gauge and for a counter, fed the same remote-write payloads in one run.

    python -m bench.storage [--series 100] [--hours 24] [--interval 15] [--skip-postgres]
                            [--skip-prometheus]

Each kind of series goes to fresh stores of its own. Failcast is measured twice on the same
data: right after ingestion through a server that runs no periodic job, with every sample
still a row of the head, and after one pass of the store's compaction job has moved every
closed window into chunks. Prometheus is measured on the blocks it has compacted (its head
lives in memory and its write-ahead log).
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

from bench._record import record, table
from bench._server import api_key, postgres_database, server
from bench.remote_write import PROMETHEUS, Prometheus, send_all
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.integrations.proto import remote_pb2
from failcast.integrations.remote_write import encode_write_request
from failcast.jobs.maintenance import StoreJobs
from failcast.store.chunks import CompactionReport

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


def payloads(kind: str, series: int, points: int, start_ms: int, interval_ms: int) -> list[bytes]:
    """Time-ordered requests, each carrying the next slice of points of every series."""
    rng = np.random.default_rng(0)
    # Scrapes land a few milliseconds off the interval, as real ones do.
    ts = start_ms + np.arange(points) * interval_ms + rng.integers(-5, 6, points)
    values = [series_values(kind, points, s) for s in range(series)]
    bodies = []
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
    return bodies


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


async def _compact(data_dir: Path, db_url: str) -> tuple[CompactionReport, float]:
    """One pass of the store's compaction job, as a worker runs it, on the real clock."""
    settings = Settings(data_dir=data_dir, database_url=db_url)
    database = Database(settings)
    try:
        started = time.perf_counter()
        report = await StoreJobs(database, settings).compact()
        return report, time.perf_counter() - started
    finally:
        await database.dispose()


def measure_failcast(
    db_url: str, bodies: list[bytes]
) -> tuple[Sizes, Sizes, CompactionReport, float]:
    """Sizes with every sample in the head, then after the store's compaction job ran."""
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)

        def sizes() -> Sizes:
            if db_url:
                return asyncio.run(_postgres_sizes(db_url))
            return sqlite_sizes(data_dir / "failcast.db")

        # The server only ingests: its periodic jobs would compact while the head is being
        # measured, and the live scoring would add score series of its own to the store.
        os.environ["FAILCAST_PERIODIC_JOBS"] = "false"
        with server(data_dir, db_url) as url:
            auth = {"Authorization": f"Bearer {api_key(url)}"}
            send_all(url + "/api/v1/prometheus/write", bodies, 2, auth)
        before = sizes()
        report, seconds = asyncio.run(_compact(data_dir, db_url))
        after = sizes()
    return before, after, report, seconds


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
        bodies = payloads(kind, args.series, points, start_ms, interval_ms)
        print(f"{kind}: {args.series} series x {points} points, {len(bodies)} requests")
        stores: list[tuple[str, AbstractContextManager[str]]] = [("SQLite", nullcontext(""))]
        if not args.skip_postgres:
            stores.append(("PostgreSQL", postgres_database()))
        for name, database in stores:
            with database as db_url:
                before, after, report, seconds = measure_failcast(db_url, bodies)
            assert before.head_samples == total, (before.head_samples, total)
            assert after.head_samples + after.chunk_samples == total
            chunked = after.chunk_bytes / after.chunk_samples
            rows.append(
                [
                    kind,
                    f"Failcast on {name}",
                    f"{before.per_sample():.1f}",
                    f"{chunked:.2f}",
                    f"{after.per_sample():.2f}",
                    f"{after.chunk_samples / total:.0%}",
                    f"{report.samples / seconds:,.0f}",
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
        "Bytes on disk per sample. *All in the head*: every sample a row of `sample`, as the "
        "store kept them before chunks. *Compacted*: the `sample_chunk` table (rows, index, "
        "TOAST) over the samples in it, against Prometheus' 2 h blocks over theirs. *Samples "
        "at rest*: head plus chunks over every sample, the last open window and the grace hour "
        "still in the head (Prometheus: its whole data directory, write-ahead log included). "
        "SQLite sizes are the pages the tables and their indexes use (`dbstat`); PostgreSQL's "
        "are `pg_total_relation_size` after a plain `VACUUM`, the head's day partitions summed. "
        "Compaction is one pass of the store's job (`StoreJobs.compact`, as a worker runs it) "
        "after ingestion, one process on the real clock.\n\n"
        + table(
            [
                "series",
                "store",
                "all in the head",
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
