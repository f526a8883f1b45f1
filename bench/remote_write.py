"""Prometheus remote_write intake: Failcast's receiver against Prometheus' own, fed the same
pre-built snappy payloads by one client with a few threads, in one run.

    python -m bench.remote_write [--requests 12] [--series 1000] [--samples 100] [--threads 4]
                                 [--skip-postgres]
    python -m bench.remote_write --victoriametrics [--pairs 5] [--requests 12] ...

Every request carries new series (so neither receiver sees out-of-order samples and both pay
for creating series), with samples one second apart in the last ten minutes.

With `--victoriametrics`, six receivers take runs in turn, the order rotating every round:
VictoriaMetrics alone, Prometheus alone, a bare Python relay in front of VictoriaMetrics (the
ceiling of any Python receiver there), Failcast keeping its samples in VictoriaMetrics
(FAILCAST_METRICS_BACKEND), the same with live scoring off (the intake alone), and Failcast
on its embedded store; each on new series and on series it already holds, with the server
CPU each spends per sample.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench._record import record, table
from bench._server import (
    cpu_seconds,
    free_port,
    postgres_database,
    server,
    server_process,
    wait_ready,
)
from failcast.integrations.remote_write import encode_write_request
from failcast.proto import remote_pb2

PROMETHEUS = Path("/usr/bin/prometheus")
VICTORIA_METRICS = Path("/usr/bin/victoria-metrics")
# Live scoring creates no score series, so it scores nothing: the intake alone.
UNSCORED = {"FAILCAST_MAX_SCORE_SERIES_PER_ORG": "0"}
HEADERS = {
    "Content-Encoding": "snappy",
    "Content-Type": "application/x-protobuf",
    "X-Prometheus-Remote-Write-Version": "0.1.0",
}


def api_key(url: str) -> str:
    """Register an account on a fresh server and return an ingest API key."""
    with httpx.Client(base_url=url, timeout=30) as http:
        registered = http.post(
            "/api/v1/register",
            json={
                "email": "rw@example.com",
                "password": "loopback passphrase 42",
                "org_name": "RW",
            },
        )
        token = registered.json()["access_token"]
        response = http.post(
            "/api/v1/api-keys",
            json={"name": "remote write", "scopes": ["ingest"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        key: str = response.json()["key"]
        return key


def payloads(
    requests: int, series: int, samples: int, run: str = "", start_ms: int | None = None
) -> list[bytes]:
    if start_ms is None:
        start_ms = int(time.time() * 1000) - 600_000
    bodies = []
    for r in range(requests):
        write = remote_pb2.WriteRequest()
        for s in range(series):
            ts = write.timeseries.add()
            ts.labels.add(name="__name__", value=f"bench_metric_{s % 10}")
            ts.labels.add(name="instance", value=f"host-{run}{r}-{s}:9100")
            ts.labels.add(name="job", value=f"bench-{s % 20}")
            for i in range(samples):
                ts.samples.add(timestamp=start_ms + i * 1000, value=float((r + s + i) % 97))
        bodies.append(encode_write_request(write))
    return bodies


def send_all(
    url: str, bodies: list[bytes], threads: int, headers: dict[str, str]
) -> tuple[float, list[str]]:
    """Seconds to post every body, `threads` at a time, and the 5xx answers met on the way.

    A 5xx is retried, as Prometheus does; any other error status fails the run."""
    retried: list[str] = []

    def send(chunk: list[bytes]) -> None:
        with httpx.Client(headers=HEADERS | headers, timeout=300) as http:
            for body in chunk:
                for attempt in range(5):
                    response = http.post(url, content=body)
                    if response.status_code < 300:
                        break
                    if response.status_code < 500 or attempt == 4:
                        raise RuntimeError(f"{url}: {response.status_code} {response.text[:200]}")
                    retried.append(f"{response.status_code} {response.text[:200]}")
                    time.sleep(0.1 * 2**attempt)

    chunks = [bodies[i::threads] for i in range(threads)]
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(send, chunk) for chunk in chunks]:
            future.result()
    return time.perf_counter() - started, retried


class Prometheus(AbstractContextManager[str]):
    """Prometheus with its remote-write receiver on a loopback port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        config = self.directory / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\n")
        self.process = subprocess.Popen(
            [
                str(PROMETHEUS),
                f"--config.file={config}",
                f"--storage.tsdb.path={self.directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-remote-write-receiver",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{self.port}"
        wait_ready(base + "/-/ready", "Prometheus")
        return base + "/api/v1/write"

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


class VictoriaMetrics(AbstractContextManager[str]):
    """A single-node VictoriaMetrics on a loopback port; yields its base URL."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [
                str(VICTORIA_METRICS),
                f"-storageDataPath={self.directory}",
                f"-httpListenAddr=127.0.0.1:{self.port}",
                "-loggerLevel=ERROR",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{self.port}"
        wait_ready(base + "/health", "VictoriaMetrics")
        return base

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)


@dataclass
class Receiver:
    name: str
    url: str
    headers: dict[str, str]
    pids: list[int]  # the processes whose CPU time the receiver's work costs


def logged_errors(log: Path) -> list[str]:
    """The error lines of a server's JSON log, to explain a failed run."""
    errors = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") == "error":
            errors.append(f"{entry.get('msg', '')} {entry.get('exc', '')[-2000:]}")
    return errors


def relay_process(port: int, target: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bench._relay", str(port), target],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_ready(f"http://127.0.0.1:{port}/ready", "the relay")
    return process


def engines(args: argparse.Namespace) -> None:
    """Failcast on VictoriaMetrics and on SQLite, VictoriaMetrics and Prometheus alone, and a
    bare Python relay in front of VictoriaMetrics; new series, then known series."""
    if not VICTORIA_METRICS.exists():
        raise SystemExit("needs VictoriaMetrics at /usr/bin/victoria-metrics")
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        victoria, prometheus = VictoriaMetrics(Path(tmp) / "vm"), Prometheus(Path(tmp))
        relay_port = free_port()
        with victoria as vm, prometheus as prometheus_write:
            assert victoria.process is not None and prometheus.process is not None
            vm_pid, prom_pid = victoria.process.pid, prometheus.process.pid
            backend = {"FAILCAST_METRICS_BACKEND": "victoriametrics://" + vm.split("://", 1)[1]}
            relay = relay_process(relay_port, vm + "/api/v1/write")
            try:
                with (
                    server_process(Path(tmp) / "fc-vm", "", backend) as (on_vm, on_vm_pid),
                    server_process(Path(tmp) / "fc-vm-unscored", "", backend | UNSCORED) as (
                        unscored,
                        unscored_pid,
                    ),
                    server_process(Path(tmp) / "fc-sqlite", "") as (on_sqlite, on_sqlite_pid),
                ):
                    receivers = [
                        Receiver("VictoriaMetrics alone", vm + "/api/v1/write", {}, [vm_pid]),
                        Receiver("Prometheus alone", prometheus_write, {}, [prom_pid]),
                        Receiver(
                            "Python relay to VictoriaMetrics",
                            f"http://127.0.0.1:{relay_port}/write",
                            {},
                            [relay.pid, vm_pid],
                        ),
                        Receiver(
                            "Failcast on VictoriaMetrics",
                            on_vm + "/api/v1/prometheus/write",
                            {"Authorization": f"Bearer {api_key(on_vm)}"},
                            [on_vm_pid, vm_pid],
                        ),
                        Receiver(
                            "Failcast on VictoriaMetrics, live scoring off",
                            unscored + "/api/v1/prometheus/write",
                            {"Authorization": f"Bearer {api_key(unscored)}"},
                            [unscored_pid, vm_pid],
                        ),
                        Receiver(
                            "Failcast on SQLite",
                            on_sqlite + "/api/v1/prometheus/write",
                            {"Authorization": f"Bearer {api_key(on_sqlite)}"},
                            [on_sqlite_pid],
                        ),
                    ]
                    try:
                        rates, cpu, busy = measure(args, receivers)
                    except RuntimeError:
                        for name in ("fc-vm", "fc-vm-unscored", "fc-sqlite"):
                            errors = logged_errors(Path(tmp) / name / "server.log")
                            print(f"{name}: errors in its log:", *errors[-5:], sep="\n")
                        raise
            finally:
                relay.terminate()
                relay.wait(timeout=30)
    report(args, rates, cpu, busy, load_before)


Measures = dict[tuple[str, str], list[float]]


def measure(
    args: argparse.Namespace, receivers: list[Receiver]
) -> tuple[Measures, Measures, Measures]:
    """Samples/s, server CPU microseconds per sample and requests retried after a 503, by
    (phase, receiver), one per round. A 503 (Failcast's embedded store busy) is retried, as
    Prometheus retries it, and its wait counts against the receiver; any other 5xx fails."""
    total = args.requests * args.series * args.samples
    rates: Measures = {}
    cpu: Measures = {}
    busy: Measures = {}
    # Known series get later points each round; new series start ten minutes back.
    base_ms = int(time.time() * 1000) - 1_800_000
    for number, receiver in enumerate(receivers):
        warm = payloads(1, args.series, args.samples, f"warm{number}-")
        send_all(receiver.url, warm, 1, receiver.headers)
        known = payloads(args.requests, args.series, args.samples, f"k{number}-", base_ms)
        send_all(receiver.url, known, args.threads, receiver.headers)
    for pair in range(args.pairs):
        shift = pair % len(receivers)
        for receiver in receivers[shift:] + receivers[:shift]:
            number = receivers.index(receiver)
            for phase in ("new series", "known series"):
                if phase == "new series":
                    run, start = f"{number}n{pair}-", None
                else:
                    run, start = f"k{number}-", base_ms + (pair + 1) * args.samples * 1000
                bodies = payloads(args.requests, args.series, args.samples, run, start)
                before = sum(cpu_seconds(pid) for pid in receiver.pids)
                seconds, retried = send_all(receiver.url, bodies, args.threads, receiver.headers)
                used = sum(cpu_seconds(pid) for pid in receiver.pids) - before
                failed = [answer for answer in retried if not answer.startswith("503")]
                if failed:
                    raise RuntimeError(f"{receiver.name} answered 5xx: {failed[:3]}")
                rates.setdefault((phase, receiver.name), []).append(total / seconds)
                cpu.setdefault((phase, receiver.name), []).append(used / total * 1e6)
                busy.setdefault((phase, receiver.name), []).append(len(retried))
                print(
                    f"round {pair + 1}, {phase}, {receiver.name}: "
                    f"{total / seconds:,.0f} samples/s, {used / total * 1e6:.2f} µs CPU/sample"
                )
    return rates, cpu, busy


def spread(ratios: list[float], digits: int = 2) -> str:
    """min / median / max of per-round ratios."""
    low, mid, high = min(ratios), statistics.median(ratios), max(ratios)
    return f"{low:.{digits}f} / {mid:.{digits}f} / {high:.{digits}f}"


def report(
    args: argparse.Namespace, rates: Measures, cpu: Measures, busy: Measures, load_before: float
) -> None:
    total = args.requests * args.series * args.samples
    rows: list[list[object]] = []
    for (phase, name), found in sorted(rates.items(), key=lambda item: item[0][0]):
        own_cpu = cpu[(phase, name)]
        vm = rates[(phase, "VictoriaMetrics alone")]
        prom = rates[(phase, "Prometheus alone")]
        prom_cpu = cpu[(phase, "Prometheus alone")]
        rows.append(
            [
                phase,
                name,
                f"{min(found):,.0f}",
                f"{statistics.median(found):,.0f}",
                f"{max(found):,.0f}",
                spread([a / b for a, b in zip(found, vm, strict=True)]),
                spread([a / b for a, b in zip(found, prom, strict=True)]),
                f"{statistics.median(own_cpu):.2f}",
                spread([a / b for a, b in zip(own_cpu, prom_cpu, strict=True)], digits=1),
                f"{sum(busy[(phase, name)]):.0f}",
            ]
        )
    body = (
        f"{args.pairs} rounds; in each, every receiver takes {args.requests} remote-write "
        f"requests of {args.series} series x {args.samples} samples ({total:,} samples), "
        f"posted by {args.threads} client threads, first on series it has never seen, then on "
        "series it already holds (later points of the same label sets: the steady state of a "
        "Prometheus that remote-writes), the receivers' order rotating from round to round. "
        "Failcast runs `failcast up` on SQLite, and on SQLite (the series catalogue) with "
        "`FAILCAST_METRICS_BACKEND=victoriametrics://...`: it validates each request, creates "
        "new series in the catalogue, and answers once the samples are stored. Failcast "
        "also scores every sample it takes in (live anomaly scoring reads the new points "
        "back and writes a score for each, on the runner in the same process, as `failcast "
        "up` does by default); *live scoring off* is the same server with "
        "`FAILCAST_MAX_SCORE_SERIES_PER_ORG=0`, which leaves live scoring no room for a "
        "score series, so that it scores nothing: the intake alone. The *Python "
        "relay* (`bench/_relay.py`) forwards each body unchanged to VictoriaMetrics through "
        "uvicorn and httpx, as Failcast does, and does nothing else: the ceiling of any "
        "receiver written in Python in front of the engine on this machine. Server CPU is "
        "the user and system time per sample of the receiver's processes (Failcast or the "
        "relay plus the VictoriaMetrics behind it), from /proc. All processes share the "
        f"machine's {os.cpu_count()} cores. Each ratio is taken within a round, between "
        "receivers that ran one after the other, so that the machine's drift from round to "
        "round cancels; "
        "a 503 (the embedded store busy) is retried, as Prometheus retries it, its wait "
        "counting against the receiver; "
        f"the one-minute load average was {load_before:.1f} before the "
        f"runs and {os.getloadavg()[0]:.1f} after them.\n\n"
        + table(
            [
                "series",
                "receiver",
                "min samples/s",
                "median",
                "max",
                "ratio to VictoriaMetrics, min / median / max of rounds",
                "ratio to Prometheus, same",
                "server CPU µs/sample, median",
                "CPU ratio to Prometheus, min / median / max",
                "requests retried after a 503",
            ],
            rows,
        )
    )
    record("remote_write_engines", "remote_write: Failcast, engines and a bare relay", body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument(
        "--victoriametrics",
        action="store_true",
        help="compare Failcast on VictoriaMetrics with VictoriaMetrics and Prometheus alone",
    )
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    if not PROMETHEUS.exists():
        raise SystemExit("needs Prometheus at /usr/bin/prometheus")
    os.environ["FAILCAST_DASHBOARD_ENABLED"] = "false"
    if args.victoriametrics:
        engines(args)
        return

    per_request = args.series * args.samples
    total = args.requests * per_request
    # One warm-up request per receiver, on series of its own.
    bodies = payloads(args.requests + 1, args.series, args.samples)
    warm, timed = bodies[:1], bodies[1:]
    size = sum(map(len, timed)) / len(timed)
    print(f"{args.requests} requests x {per_request} samples, {size / 1024:.0f} KiB each")

    rates: dict[str, float] = {}
    retries: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp, Prometheus(Path(tmp)) as write_url:
        send_all(write_url, warm, 1, {})
        seconds, retried = send_all(write_url, timed, args.threads, {})
        rates["Prometheus 2.42 (TSDB)"] = total / seconds
        retries["Prometheus 2.42 (TSDB)"] = len(retried)
        print(f"prometheus: {total / seconds:,.0f} samples/s")

    stores: list[tuple[str, AbstractContextManager[str]]] = [("SQLite", nullcontext(""))]
    if not args.skip_postgres:
        stores.append(("PostgreSQL", postgres_database()))
    for name, database in stores:
        with (
            tempfile.TemporaryDirectory() as tmp,
            database as db_url,
            server(Path(tmp), db_url) as url,
        ):
            auth = {"Authorization": f"Bearer {api_key(url)}"}
            write_url = url + "/api/v1/prometheus/write"
            send_all(write_url, warm, 1, auth)
            seconds, retried = send_all(write_url, timed, args.threads, auth)
        rates[f"Failcast on {name}"] = total / seconds
        retries[f"Failcast on {name}"] = len(retried)
        for answer in retried:
            print(f"  retried after {answer}")
        print(f"failcast on {name}: {total / seconds:,.0f} samples/s")

    reference = rates["Prometheus 2.42 (TSDB)"]
    rows: list[list[object]] = [
        [name, f"{rate:,.0f}", f"{rate / reference:.2f}", retries[name]]
        for name, rate in rates.items()
    ]
    body = (
        f"{args.requests} remote-write requests of {args.series} new series x {args.samples} "
        f"samples ({per_request:,} samples, {size / 1024:.0f} KiB snappy each), posted by "
        f"{args.threads} client threads after one warm-up request. Both receivers get the same "
        "bytes; Failcast validates, maps job/service labels and stores every sample. A 5xx "
        "answer is retried, as Prometheus would, and counted.\n\n"
        + table(["receiver", "samples/s", "ratio to Prometheus", "5xx retried"], rows)
    )
    record("remote_write", "Prometheus remote_write intake", body)


if __name__ == "__main__":
    main()
