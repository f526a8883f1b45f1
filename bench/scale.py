"""The embedded store from 1M to 10M samples over 100k series, beside Prometheus in the same run.

    python -m bench.scale [--series 100000] [--points 100] [--per-request 10000]
                          [--milestones 1 2 5 10] [--runs 20]

Both servers take the same remote-write requests, alternately, in time order: every series
gets one point a minute (`--points` of them), `--per-request` series per request, as a
Prometheus that scrapes them once a minute would send them. At each milestone (millions of
samples stored) the figures of the segment since the last one are taken:

- ingest: samples per second of sending time, and server CPU microseconds per sample;
- disk: bytes per sample of the whole data directory (write-ahead log included);
- range query: median ms of `query_range` over one series' whole history, one-minute steps;
- one series: median ms of `/series?match[]={instance="host-7"}`;
- requests answered 503 (the embedded store busy), retried as Prometheus retries them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import cramjam
import httpx
import numpy as np
from rich.progress import Progress

from bench._record import record, table
from bench._server import api_key, cpu_seconds, server_process
from bench.remote_write import HEADERS, Prometheus
from failcast.store.remote import wire_labels
from failcast.store.remote_wire import write_request

MINUTE_MS = 60_000


def series_labels(count: int) -> list[bytes]:
    """Serialised label sets: 100 metrics of count/100 series each."""
    return [
        wire_labels(
            (
                ("__name__", f"scale_metric_{i % 100}"),
                ("instance", f"host-{i}"),
                ("job", f"job-{i % 50}"),
            )
        )
        for i in range(count)
    ]


def body(labels: list[bytes], first: int, at_ms: int, point: int) -> bytes:
    """One point of each series `first` .. `first + len(labels)` at `at_ms`."""
    n = len(labels)
    ts = np.full(n, at_ms, np.int64)
    values = (np.arange(first, first + n) + point) % 97 + np.sin(point / 10)
    raw = write_request(labels, list(range(n + 1)), ts, values.astype(np.float64))
    return bytes(cramjam.snappy.compress_raw(raw))


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and f.suffix != ".log")


def median_ms(http: httpx.Client, path: str, params: dict[str, str], runs: int) -> float:
    http.get(path, params=params).raise_for_status()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        http.get(path, params=params).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--per-request", type=int, default=10_000)
    parser.add_argument("--milestones", type=float, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.environ["FAILCAST_DASHBOARD_ENABLED"] = "false"
    limits = {
        "FAILCAST_MAX_SERIES_PER_ORG": str(2 * args.series),
        "FAILCAST_MAX_NEW_SERIES_PER_MINUTE": str(2 * args.series),
    }
    labels = series_labels(args.series)
    start_ms = (int(time.time() * 1000) // MINUTE_MS - args.points - 1) * MINUTE_MS
    milestones = [int(m * 1_000_000) for m in args.milestones]
    load_before = os.getloadavg()[0]
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        prometheus = Prometheus(Path(tmp))
        fc_dir = Path(tmp) / "failcast"
        with (
            prometheus as prometheus_write,
            server_process(fc_dir, "", limits) as (url, pid),
            httpx.Client(timeout=600) as http,
        ):
            assert prometheus.process is not None
            fc_auth = {"Authorization": f"Bearer {api_key(url)}"}
            targets = {
                "Failcast on SQLite": (url + "/api/v1/prometheus/write", fc_auth, pid, fc_dir),
                "Prometheus 2.42": (prometheus_write, {}, prometheus.process.pid, Path(tmp)),
            }
            readers = {
                "Failcast on SQLite": (url + "/prometheus/api/v1", fc_auth),
                "Prometheus 2.42": (prometheus_write.rsplit("/api/v1/", 1)[0] + "/api/v1", {}),
            }
            spent = dict.fromkeys(targets, 0.0)
            busy = dict.fromkeys(targets, 0)
            cpu_before = {name: cpu_seconds(target[2]) for name, target in targets.items()}
            sent = segment_start = 0
            requests = [
                (point, first)
                for point in range(args.points)
                for first in range(0, args.series, args.per_request)
            ]
            with Progress() as progress:
                task = progress.add_task(
                    "remote write", total=min(milestones[-1], len(requests) * args.per_request)
                )
                for number, (point, first) in enumerate(requests):
                    if sent >= milestones[-1]:
                        break
                    part = labels[first : first + args.per_request]
                    payload = body(part, first, start_ms + point * MINUTE_MS, point)
                    order = list(targets.items())
                    for name, (write_url, headers, _, _) in (
                        order[number % 2 :] + order[: number % 2]
                    ):
                        started = time.perf_counter()
                        for attempt in range(5):
                            answer = http.post(
                                write_url, content=payload, headers=HEADERS | headers
                            )
                            # A 503 (the embedded store busy) is retried, as Prometheus
                            # retries it; its wait counts against the receiver.
                            if answer.status_code != 503 or attempt == 4:
                                break
                            busy[name] += 1
                            time.sleep(0.1 * 2**attempt)
                        spent[name] += time.perf_counter() - started
                        if answer.status_code >= 300:
                            log = fc_dir / "server.log"
                            print(log.read_text(errors="replace")[-8000:] if log.exists() else "")
                            raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:300]}")
                    sent += len(part)
                    progress.update(task, completed=sent)
                    if sent not in milestones:
                        continue
                    segment = sent - segment_start
                    newest = start_ms + point * MINUTE_MS
                    query_range = {
                        "query": 'scale_metric_7{instance="host-7"}',
                        "start": str(start_ms / 1000),
                        "end": str(newest / 1000),
                        "step": "60",
                    }
                    for name, (_, _, server_pid, data_dir) in targets.items():
                        base, headers = readers[name]
                        used = cpu_seconds(server_pid) - cpu_before[name]
                        with httpx.Client(base_url=base, headers=headers, timeout=120) as reader:
                            ranged = median_ms(reader, "/query_range", query_range, args.runs)
                            one = median_ms(
                                reader, "/series", {"match[]": '{instance="host-7"}'}, args.runs
                            )
                        rows.append(
                            [
                                f"{sent / 1e6:g}M",
                                name,
                                f"{segment / spent[name]:,.0f}",
                                f"{used / segment * 1e6:.2f}",
                                f"{directory_bytes(data_dir) / sent:.1f}",
                                f"{ranged:.1f}",
                                f"{one:.1f}",
                                str(busy[name]),
                            ]
                        )
                        print(rows[-1], flush=True)
                        spent[name] = 0.0
                        busy[name] = 0
                        cpu_before[name] = cpu_seconds(server_pid)
                    segment_start = sent
    text = (
        f"{args.series:,} series (100 metrics), one point a minute each, sent in time order as "
        f"remote-write requests of {args.per_request:,} series x 1 point, the same bytes to "
        "Failcast (`failcast up`, SQLite, with the org's series limits raised to twice the series "
        "sent: `FAILCAST_MAX_SERIES_PER_ORG`, `FAILCAST_MAX_NEW_SERIES_PER_MINUTE`) and to "
        "Prometheus, alternately. At each milestone: "
        "*samples/s* and *CPU µs/sample* over the segment since the last milestone (sending "
        "time; server user+system time from /proc; Failcast's background jobs, such as "
        "scoring and compaction, included); *bytes/sample*: the whole data directory over the "
        "samples sent (Prometheus: its TSDB with write-ahead log; its data directory also "
        "holds the config); *range*: median ms of `query_range` over the whole history of "
        'one series at one-minute steps; *one series*: `/series?match[]={instance="host-7"}`; '
        "*503s retried*: requests answered 503 (the embedded store busy) in the segment, each "
        "retried after a pause, as Prometheus retries them, the wait counting as sending time. "
        f"The one-minute load average was {load_before:.1f} before the run and "
        f"{os.getloadavg()[0]:.1f} after it, on 2 cores.\n\n"
        + table(
            [
                "samples",
                "engine",
                "samples/s",
                "CPU µs/sample",
                "bytes/sample",
                "range (ms)",
                "one series (ms)",
                "503s retried",
            ],
            rows,
        )
    )
    print(text)
    record("scale", "The embedded store from 1M to 10M samples", text)


if __name__ == "__main__":
    main()
