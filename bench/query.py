"""Label and selector query latency at 1k, 10k and 50k series of one metric, over the HTTP API,
beside Prometheus' own when `/usr/bin/prometheus` is there.

    python -m bench.query [--sizes 1000 10000 50000] [--runs 30] [--postgres]

Each size gets an org of its own holding one metric, `http_requests_total`, with N series
(`instance` unique per series, 5 `code` values, 150 `path` values). The figures are median
milliseconds per request, client included, on a warm server once its background work on the
new series has settled:

- label values: `/label/code/values` without `match[]`, what Grafana asks to fill a variable;
- label names: `/labels`;
- one series: `/series?match[]={instance="i7"}`, a selector whose answer is one series;
- selector: `/series?match[]=http_requests_total{code="500",path=~"/v1/.*"}`, N/15 series;
- metric query: `GET /api/v1/metrics` with `selector={instance="i7"}`, one series' points;
- 24 h range: `query_range` of `i7` over a day at a one-minute step, 1,441 points.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._record import record, table
from bench._server import (
    DEFAULT_POSTGRES,
    api_key,
    cpu_seconds,
    free_port,
    postgres_database,
    server_process,
)
from failcast.integrations.remote_write import encode_write_request
from failcast.proto import remote_pb2

PROMETHEUS = Path("/usr/bin/prometheus")
METRIC = "http_requests_total"
CODES = ["200", "201", "404", "500", "503"]
BATCH = 10_000
# Points of the one series with a day of history (one a minute).
HISTORY_POINTS = 1440
WRITE_HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}
# What each figure asks, as (label, Prometheus API path, params).
QUERIES: list[tuple[str, str, dict[str, str]]] = [
    ("label values", "/label/code/values", {}),
    ("label names", "/labels", {}),
    ("one series", "/series", {"match[]": '{instance="i7"}'}),
    ("selector", "/series", {"match[]": f'{METRIC}{{code="500",path=~"/v1/.*"}}'}),
]


def labels(i: int) -> dict[str, str]:
    return {"instance": f"i{i}", "code": CODES[i % 5], "path": f"/v{i % 3}/r{i % 50}"}


def write_requests(size: int, now_ms: int) -> Iterator[bytes]:
    """Remote-write bodies holding one sample of each of `size` series."""
    for start in range(0, size, BATCH):
        request = remote_pb2.WriteRequest()
        for i in range(start, min(size, start + BATCH)):
            series = request.timeseries.add()
            every = {"__name__": METRIC, "job": "web", **labels(i)}
            for name, value in sorted(every.items()):
                series.labels.add(name=name, value=value)
            series.samples.add(timestamp=now_ms, value=float(i))
        yield encode_write_request(request)


def history_request(now_ms: int) -> bytes:
    """A day of one-minute points for series `i7`, ending a minute before `now_ms`."""
    request = remote_pb2.WriteRequest()
    series = request.timeseries.add()
    for name, value in sorted({"__name__": METRIC, "job": "web", **labels(7)}.items()):
        series.labels.add(name=name, value=value)
    for k in range(HISTORY_POINTS, 0, -1):
        series.samples.add(timestamp=now_ms - k * 60_000, value=float(k % 97))
    return encode_write_request(request)


def range_params(now_ms: int) -> dict[str, str]:
    """A 24 h range query of `i7` at one-minute steps: 1,441 points."""
    end = now_ms / 1000
    return {
        "query": f'{METRIC}{{instance="i7"}}',
        "start": str(end - 86_400),
        "end": str(end),
        "step": "60",
    }


def range_ms(http: httpx.Client, path: str, now_ms: int, runs: int) -> float:
    """Median milliseconds of the 24 h range query, checked to answer the whole day."""
    answer = http.get(path, params=range_params(now_ms))
    answer.raise_for_status()
    values = answer.json()["data"]["result"][0]["values"]
    assert len(values) >= HISTORY_POINTS - 10, len(values)
    return median_ms(http, path, range_params(now_ms), runs)


def median_ms(http: httpx.Client, path: str, params: dict[str, str], runs: int) -> float:
    http.get(path, params=params).raise_for_status()  # warm
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = http.get(path, params=params)
        times.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return statistics.median(times)


def settle(pid: int, limit_s: float = 120.0) -> None:
    """Wait until the server's background work on the new series (scoring, rollups) is done:
    less than a tenth of a core used over a second."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(1.0)
        if cpu_seconds(pid) - before < 0.1:
            return


def failcast_figures(url: str, pid: int, size: int, runs: int, now_ms: int) -> list[float]:
    key = api_key(url, email=f"query-{size}@example.com")
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=url, headers=headers, timeout=300) as http:
        for body in [history_request(now_ms), *write_requests(size, now_ms)]:
            response = http.post("/api/v1/prometheus/write", content=body, headers=WRITE_HEADERS)
            response.raise_for_status()
            assert response.headers.get("x-failcast-dropped") in (None, "0"), response.headers
        settle(pid)
        figures = [
            median_ms(http, "/prometheus/api/v1" + path, params, runs)
            for _, path, params in QUERIES
        ]
        metric = {"metric": METRIC, "selector": '{instance="i7"}', "start": str(now_ms / 1000 - 60)}
        figures.append(median_ms(http, "/api/v1/metrics", metric, runs))
        figures.append(range_ms(http, "/prometheus/api/v1/query_range", now_ms, runs))
        return figures


@contextmanager
def prometheus(tmp: Path) -> Iterator[str]:
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\n")
    process = subprocess.Popen(
        [
            str(PROMETHEUS),
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'prometheus'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-remote-write-receiver",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("Prometheus did not become ready")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def prometheus_figures(size: int, runs: int, now_ms: int) -> list[float]:
    """Prometheus holding the same series alone (one TSDB per size, as one org per size)."""
    with (
        tempfile.TemporaryDirectory() as tmp,
        prometheus(Path(tmp)) as url,
        httpx.Client(base_url=url, timeout=300) as http,
    ):
        for body in [history_request(now_ms), *write_requests(size, now_ms)]:
            http.post("/api/v1/write", content=body, headers=WRITE_HEADERS).raise_for_status()
        figures = [median_ms(http, "/api/v1" + path, params, runs) for _, path, params in QUERIES]
        return [*figures, range_ms(http, "/api/v1/query_range", now_ms, runs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 50_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args()

    # Every size is created at once; the bench measures queries, not the series limits.
    os.environ["FAILCAST_MAX_SERIES_PER_ORG"] = str(2 * sum(args.sizes))
    os.environ["FAILCAST_MAX_NEW_SERIES_PER_MINUTE"] = str(2 * sum(args.sizes))
    now_ms = int(time.time() * 1000) - 60_000
    ours: dict[int, list[float]] = {}
    theirs: dict[int, list[float]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        failcast_server(args.postgres, Path(tmp)) as (url, pid),
    ):
        for size in args.sizes:
            ours[size] = failcast_figures(url, pid, size, args.runs, now_ms)
            print(size, "failcast", [f"{f:.1f}" for f in ours[size]], flush=True)
    if PROMETHEUS.exists():
        for size in args.sizes:
            theirs[size] = prometheus_figures(size, args.runs, now_ms)
            print(size, "prometheus", [f"{f:.1f}" for f in theirs[size]], flush=True)

    header = ["series", "engine", *(q[0] for q in QUERIES), "metric query", "24 h range"]
    rows: list[list[Any]] = []
    engine = "Failcast, PostgreSQL" if args.postgres else "Failcast, SQLite"
    for size in args.sizes:
        rows.append([f"{size:,}", engine, *(f"{f:.1f}" for f in ours[size])])
        if size in theirs:
            *labelled, ranged = (f"{f:.1f}" for f in theirs[size])
            rows.append([f"{size:,}", "Prometheus 2.42", *labelled, "-", ranged])
    body = (
        "Median milliseconds per HTTP request, client included, warm, once the server's "
        "background work on the new series has settled; one metric of N series in an org of "
        "its own. *label values*: `/label/code/values` without `match[]`; "
        '*label names*: `/labels`; *one series*: `/series?match[]={instance="i7"}`; '
        '*selector*: `/series?match[]=http_requests_total{code="500",path=~"/v1/.*"}` '
        '(N/15 series); *metric query*: `GET /api/v1/metrics?selector={instance="i7"}`; '
        '*24 h range*: `query_range` of `http_requests_total{instance="i7"}` over the last day '
        "at a one-minute step (1,441 points; `i7` holds a day of one-minute samples, the "
        "others one sample each), through each engine's Prometheus HTTP API. "
        "Prometheus holds the same series, written with remote write.\n\n" + table(header, rows)
    )
    print(body)
    key = "query-postgres" if args.postgres else "query"
    title = "Label and selector queries" + (" (PostgreSQL)" if args.postgres else "")
    record(key, title, body)


@contextmanager
def failcast_server(postgres: bool, tmp: Path) -> Iterator[tuple[str, int]]:
    """A Failcast server on SQLite in `tmp`, or on a throw-away PostgreSQL database: its URL
    and process id."""
    if not postgres:
        with server_process(tmp) as running:
            yield running
        return
    with postgres_database(DEFAULT_POSTGRES) as database, server_process(tmp, database) as running:
        yield running


if __name__ == "__main__":
    main()
