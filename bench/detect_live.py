"""Live scoring throughput through the job (store reads, detectors, score and state writes) on
SQLite, and false alarms of the live detector on the healthy simulated fleet.

    python -m bench.detect_live
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.progress import Progress

from bench._record import record, table
from failcast.chaos.engine import Fleet
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.migrate import upgrade
from failcast.detect.configs import configuration
from failcast.detect.live import DEFAULT_DETECTOR, SERVICE_DETECTOR, Spec, build
from failcast.detect.service import LiveScoring
from failcast.detect.tasks import SCORE_SECONDS
from failcast.ingest.service import Ingestor
from failcast.ingest.validate import ValidSample
from failcast.models import Organization

NOW_MS = int(time.time()) * 1000
BACKLOG_SERVICES, BACKLOG_METRICS, BACKLOG_POINTS = 5, 10, 1_400
TICK_S = 2.0


async def org(database: Database) -> int:
    async with database.session() as session:
        row = Organization(name="bench", slug="bench")
        session.add(row)
        await session.commit()
        return row.id


async def backlog(database: Database, org_id: int) -> tuple[int, float, int]:
    """Score 50 series x 1,400 minutes (within the first-run lookback) from scratch."""
    rng = np.random.default_rng(0)
    ingestor = Ingestor()
    start = NOW_MS - BACKLOG_POINTS * 60_000
    samples = [
        ValidSample(f"svc-{s}", f"metric_{m}", {}, "[]", start + i * 60_000, float(v))
        for s in range(BACKLOG_SERVICES)
        for m in range(BACKLOG_METRICS)
        for i, v in enumerate(50 + rng.normal(0, 1, BACKLOG_POINTS))
    ]
    for chunk in range(0, len(samples), 10_000):
        async with database.session() as session:
            await ingestor.ingest_samples(session, org_id, samples[chunk : chunk + 10_000])
    live = LiveScoring(database)
    points = runs = 0
    began = time.perf_counter()
    while True:
        report = await live.run_org(org_id, NOW_MS)
        if not report.points:
            break
        points += report.points
        runs += 1
    return points, time.perf_counter() - began, runs


async def steady(database: Database, org_id: int) -> tuple[int, int, list[float]]:
    """The simulated fleet ticking every 2 s, scored every SCORE_SECONDS: run durations."""
    fleet = Fleet(None, seed=1)
    ingestor = Ingestor()
    live = LiveScoring(database)
    per_run = int(SCORE_SECONDS / TICK_S)
    t = NOW_MS / 1000 - 3600
    durations: list[float] = []
    points = detectors = 0
    with Progress(transient=True) as progress:
        task = progress.add_task("simulated fleet", total=60)
        for run in range(60):
            for _ in range(per_run):
                t += TICK_S
                samples = [
                    ValidSample(s.service, s.metric, {}, "[]", round(s.ts * 1000), s.value)
                    for s in fleet.tick(t)
                ]
                async with database.session() as session:
                    await ingestor.ingest_samples(session, org_id, samples)
            began = time.perf_counter()
            report = await live.run_org(org_id, round(t * 1000))
            if run >= 10:  # the first runs create series and states
                durations.append(time.perf_counter() - began)
                points += report.points
                detectors = report.detectors
            progress.advance(task)
    return points, detectors, durations


def false_alarms(spec: Spec, threshold: float) -> float:
    """Alarm runs per series and day on two healthy simulated days (2-minute samples)."""
    fleet = Fleet(None, seed=3)
    ts = NOW_MS / 1000 - 2 * 86_400 + np.arange(0, 2 * 86_400, 120.0)
    matrix = fleet.matrix(ts)
    stamps = (ts * 1000).astype(np.int64)
    runs = 0
    for row in matrix.values:
        scores = build(spec).score(row, stamps)[150:]  # after the warm-up
        above = np.nan_to_num(scores, nan=0.0) >= threshold
        runs += int(above[0]) + int(np.sum(above[1:] & ~above[:-1]))
    return runs / len(matrix.values) / 2.0


async def measure(directory: Path) -> tuple[tuple[int, float, int], tuple[int, int, list[float]]]:
    settings = Settings(data_dir=directory, sqlite_synchronous="NORMAL", log_json=False)
    database = Database(settings)
    try:
        first = await backlog(database, await org(database))
        second_org = Organization(name="fleet", slug="fleet")
        async with database.session() as session:
            session.add(second_org)
            await session.commit()
        second = await steady(database, second_org.id)
    finally:
        await database.dispose()
    return first, second


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        upgrade(Settings(data_dir=Path(tmp), log_json=False))
        (points, seconds, runs), (steady_points, detectors, durations) = asyncio.run(
            measure(Path(tmp))
        )
    backlog_rate = points / seconds
    run_ms = 1000 * float(np.median(durations))
    run_p95 = 1000 * float(np.percentile(durations, 95))
    steady_rate = steady_points / sum(durations)
    print(f"backlog: {points:,} points in {seconds:.1f} s ({backlog_rate:,.0f}/s), {runs} runs")
    print(f"steady: {detectors} detectors, run median {run_ms:.0f} ms, p95 {run_p95:.0f} ms")
    alarm_rows = []
    named = ("seasonal-likelihood", "ensemble")
    configs: list[tuple[str, Spec]] = [
        ("surprise, the live default", DEFAULT_DETECTOR),
        ("surprise without the range rule (range_gate=100)", {
            "name": "surprise",
            "params": {**DEFAULT_DETECTOR["params"], "range_gate": 100.0},
        }),
        *((name, configuration(name).spec(1)) for name in named),
    ]  # fmt: skip
    for name, spec in configs:
        cells = [f"{false_alarms(spec, th):.2f}" for th in (0.4, 0.5)]
        alarm_rows.append([name, *cells])
        print(name, cells)
    body = (
        "Live scoring through `LiveScoring.run_org` on SQLite: reading new samples and saved "
        "states, streaming them through the detectors, and writing the `anomaly_score` samples "
        "with each state and cursor in one transaction. Every series gets the default "
        f"detector (`{DEFAULT_DETECTOR['name']}`), and every service with 2 to "
        f"40 series a `{SERVICE_DETECTOR['name']}` detector over its metric vector.\n\n"
        + table(
            ["case", "figure"],
            [
                [
                    f"backlog: {BACKLOG_SERVICES * BACKLOG_METRICS} series x "
                    f"{BACKLOG_POINTS:,} points, from nothing (scored points include "
                    "the service vectors' rows)",
                    f"{backlog_rate:,.0f} points/s ({points:,} points, {runs} runs, "
                    f"{seconds:.1f} s)",
                ],
                [
                    f"steady: simulated fleet ticking every {TICK_S:g} s, a run every "
                    f"{SCORE_SECONDS:g} s ({detectors} detectors)",
                    f"run median {run_ms:.0f} ms, p95 {run_p95:.0f} ms "
                    f"({steady_rate:,.0f} points/s)",
                ],
            ],
        )
        + "\n\nFalse alarms on two healthy simulated days (no faults, no organic failures, one "
        "sample every 2 minutes, every metric of the default fleet): runs of scores at or "
        "above the threshold per series and day, after the 150-point warm-up.\n\n"
        + table(["detector", ">= 0.4", ">= 0.5"], alarm_rows)
    )
    record("detect_live", "Live anomaly scoring", body)


if __name__ == "__main__":
    main()
