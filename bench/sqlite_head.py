"""What SQLite itself charges for the embedded store's head, by request shape and row layout.

    python -m bench.sqlite_head [--series 50000] [--held 60] [--rounds 5]

The head is the `sample` table: a row per sample, clustered on (series, time), written with
the store's own upsert, pragmas and schema (SQLAlchemy's DDL of `models.Sample`). Two request
shapes go into it, one transaction each, as `write_sample_columns` commits them:

- *bulk*: 100 points of each of 1,000 series (bench/remote_write.py's requests);
- *scrape*: one point of each of 10,000 series, into a head already holding `--held` points
  of each of `--series` series (bench/scale.py's requests, a Prometheus' remote write).

Beside it the same rows clustered on (time, series), the layout of an append-only head: what
a write would cost if it appended, and what a read of one series' last hour then costs, as it
scans every series' rows of that hour. Figures are microseconds of wall time per row (SQLite
runs in the calling thread; `synchronous` as the server sets it), median of `--rounds`.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from rich.progress import Progress
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateTable

from bench._record import record, table
from failcast.config import Settings
from failcast.models import Sample
from failcast.store.samples import SQLITE_UPSERT

MINUTE_MS = 60_000
TIME_FIRST = "PRIMARY KEY (ts, series_id)"


def connect(path: Path, ddl: str) -> sqlite3.Connection:
    """A database with the store's pragmas, a catalogue of series ids and a `sample` table."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute(f"PRAGMA synchronous={Settings().sqlite_synchronous}")
    connection.execute("PRAGMA foreign_keys=ON")
    connection.execute("CREATE TABLE series (id INTEGER PRIMARY KEY)")
    connection.execute(ddl)
    return connection


def sample_ddl(time_first: bool) -> str:
    """The store's `sample` table, or the same clustered on (time, series)."""
    ddl = str(CreateTable(Sample.__table__).compile(dialect=sqlite_dialect.dialect()))  # type: ignore[arg-type]
    if time_first:
        ddl = ddl.replace("PRIMARY KEY (series_id, ts)", TIME_FIRST)
        assert TIME_FIRST in ddl, ddl
    return ddl


def write(connection: sqlite3.Connection, rows: list[tuple[int, int, float]]) -> float:
    """Seconds to upsert `rows` in one transaction."""
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(SQLITE_UPSERT, rows)
    connection.execute("COMMIT")
    return time.perf_counter() - started


def shape(
    directory: Path, time_first: bool, series: int, per_request: int, held: int, rounds: int
) -> tuple[float, float]:
    """Median µs per row of a request of `per_request` series x one point into a head that
    holds `held` points of each of `series` series (with `held` = 0 and per_request = series:
    100 points each), and median ms to read one series' last hour."""
    path = directory / f"head-{time_first}-{series}-{held}.db"
    connection = connect(path, sample_ddl(time_first))
    connection.executemany("INSERT INTO series (id) VALUES (?)", [(i,) for i in range(series)])
    for minute in range(held):
        write(connection, [(s, minute * MINUTE_MS, 1.0) for s in range(series)])
    costs: list[float] = []
    for r in range(rounds):
        if held:
            minute = held + r
            for first in range(0, series, per_request):
                rows = [
                    (s, minute * MINUTE_MS, float(s % 97))
                    for s in range(first, first + per_request)
                ]
                costs.append(write(connection, rows) / len(rows) * 1e6)
        else:
            rows = [
                (s, (r * 100 + i) * 1000, float((s + i) % 97))
                for s in range(series)
                for i in range(100)
            ]
            costs.append(write(connection, rows) / len(rows) * 1e6)
    (newest,) = connection.execute("SELECT max(ts) FROM sample").fetchone()
    end = newest + 1
    reads: list[float] = []
    for s in range(0, series, max(1, series // 20)):
        started = time.perf_counter()
        connection.execute(
            "SELECT ts, value FROM sample WHERE series_id = ? AND ts >= ? AND ts < ?",
            (s, end - 60 * MINUTE_MS, end),
        ).fetchall()
        reads.append((time.perf_counter() - started) * 1000)
    connection.close()
    return statistics.median(costs), statistics.median(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=50_000)
    parser.add_argument("--held", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cases = [
        ("bulk: 100 points x 1,000 series", 1_000, 1_000, 0),
        (f"scrape: 1 point x 10,000 of {args.series:,} series", args.series, 10_000, args.held),
    ]
    results: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp, Progress() as progress:
        task = progress.add_task("SQLite head", total=len(cases) * 2)
        for name, series, per_request, held in cases:
            for time_first in (False, True):
                per_row, read_ms = shape(
                    Path(tmp), time_first, series, per_request, held, args.rounds
                )
                layout = (
                    "(time, series): append-only" if time_first else "(series, time): the store's"
                )
                results.append([name, layout, f"{per_row:.2f}", f"{read_ms:.3f}"])
                print(
                    f"{name}, {layout}: {per_row:.2f} µs/row, "
                    f"one series' last hour {read_ms:.3f} ms"
                )
                progress.advance(task)
    body = (
        f"The store's `sample` upsert, pragmas (synchronous={Settings().sqlite_synchronous}) and "
        f"schema, one transaction per request; the scrape shape writes into a head already "
        f"holding {args.held} points of each series. Median of {args.rounds} rounds; *read*: "
        "median ms to select one series' last hour.\n\n"
        + table(["request", "clustered on", "µs per row", "read (ms)"], results)
    )
    record("sqlite_head", "What SQLite charges for the head, by request shape", body)


if __name__ == "__main__":
    main()
