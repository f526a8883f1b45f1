"""`failcast simulate`: generate fleet history, write it to files or send it to a server."""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from failcast.chaos import Fleet, Incident, Sample, SeriesMatrix, history_matrix, long_frame
from failcast.chaos.faults import ORGANIC_RATE_PER_DAY
from failcast.chaos.hardness import DIFFICULTIES, Hardness
from failcast.chaos.naming import NAMING_STYLES, renamed
from failcast.cli._app import app
from failcast.cli._client import ApiClient, fail
from failcast.timeutil import parse_duration_ms, parse_ts

BATCH = 5000
Difficulty = Annotated[
    str,
    typer.Option(
        help="plain (clean ramps that always fail, nothing missing) or hard (harmless ramps,"
        " resets by maintenance, varied precursors, missing data, incidents recorded late or"
        " never)."
    ),
]
Rate = Annotated[float, typer.Option(help="Organic failures per service per day.")]


def hardness_named(name: str) -> Hardness:
    if name not in DIFFICULTIES:
        raise typer.BadParameter(f"--difficulty must be one of {', '.join(DIFFICULTIES)}")
    return DIFFICULTIES[name]


LIVE_TICK_S = 2.0
_console = Console(stderr=True, soft_wrap=True)


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_console,
        transient=False,
    )


def sample_batches(matrix: SeriesMatrix, size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    """The matrix as API sample items, oldest first, `size` to a batch."""
    n_series, n_steps = matrix.values.shape
    services = [s for s, _ in matrix.series]
    metrics = [m for _, m in matrix.series]
    ts = matrix.ts.astype(np.int64).tolist()
    flat = matrix.values.T.reshape(-1)  # time-major, so a partial upload covers whole instants
    total = n_series * n_steps
    for lo in range(0, total, size):
        hi = min(lo + size, total)
        values = flat[lo:hi].tolist()
        yield [
            {
                "service": services[i % n_series],
                "metric": metrics[i % n_series],
                "labels": {},
                "ts": ts[i // n_series],
                "value": value,
            }
            for i, value in zip(range(lo, hi), values, strict=True)
            if value == value  # a missing sample (NaN) is not sent
        ]


def post_incidents(api: ApiClient, incidents: list[Incident]) -> bool:
    """Send ground-truth incidents; False (with a warning) if the server has no such endpoint."""
    for lo in range(0, len(incidents), BATCH):
        body = {"incidents": [i.to_api() for i in incidents[lo : lo + BATCH]]}
        try:
            response = api.http.post("/api/v1/incidents", json=body)
        except httpx.HTTPError as exc:
            fail(f"cannot reach {api.url}: {exc}")
        if response.status_code == 404:
            _console.print(
                "[yellow]warning:[/] the server has no /api/v1/incidents endpoint; "
                f"{len(incidents)} incidents were not sent"
            )
            return False
        if response.status_code >= 400:
            fail(f"{response.status_code} from /api/v1/incidents: {response.text[:500]}")
    return True


def post_history(api: ApiClient, matrix: SeriesMatrix, incidents: list[Incident]) -> int:
    """Send every sample, then the incidents; returns the number of samples sent."""
    total = matrix.values.size
    sent = 0
    with _progress() as progress:
        task = progress.add_task("sending samples", total=total)
        for batch in sample_batches(matrix):
            if batch:
                api.request("POST", "/api/v1/metrics", json={"samples": batch})
            sent += len(batch)
            progress.update(task, advance=len(batch))
    post_incidents(api, incidents)
    return sent


def write_history(
    out: Path,
    matrix: SeriesMatrix,
    incidents: list[Incident],
    topology: dict[str, Any],
    file_format: str = "csv",
) -> Path:
    """Write samples (long format), incidents.csv and topology.json into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    frame = long_frame(matrix)
    frame = frame[frame["value"].notna()]  # a missing sample is left out
    if file_format == "parquet":
        target = out / "samples.parquet"
        with _console.status("writing samples.parquet"):
            frame.to_parquet(target, index=False)
    else:
        target = out / "samples.csv"
        chunk = 250_000
        with _progress() as progress, target.open("w", newline="") as handle:
            task = progress.add_task("writing samples.csv", total=len(frame))
            for lo in range(0, len(frame), chunk):
                part = frame.iloc[lo : lo + chunk]
                part.to_csv(handle, index=False, header=lo == 0, float_format="%.6g")
                progress.update(task, advance=len(part))
    columns = [
        "service",
        "type",
        "start",
        "end",
        "root_cause_service",
        "source",
        "fault",
        "fault_id",
        "precursor_start",
    ]
    rows = [i.to_dict() for i in incidents]
    pd.DataFrame(rows, columns=columns).to_csv(out / "incidents.csv", index=False)
    (out / "topology.json").write_text(json.dumps(topology, indent=2) + "\n")
    return target


def _live_item(sample: Sample) -> dict[str, Any]:
    return {
        "service": sample.service,
        "metric": sample.metric,
        "labels": {},
        "ts": sample.ts,
        "value": sample.value,
    }


def _stream_live(api: ApiClient, fleet: Fleet, live_for: float | None) -> None:
    """Send a sample of every series every two seconds until `live_for` passes or Ctrl-C."""
    sent: set[tuple[str, str]] = set()
    began = time.time()
    _console.print(f"streaming live at {fleet.speed:g}x; press Ctrl-C to stop")
    try:
        while live_for is None or time.time() - began < live_for:
            tick_start = time.time()
            samples = fleet.tick(tick_start)
            body = {"samples": [_live_item(sample) for sample in samples]}
            api.request("POST", "/api/v1/metrics", json=body)
            new = [i for i in fleet.incidents(tick_start) if (i.fault_id, i.service) not in sent]
            if new:
                # Sent once either way: a server without the endpoint would only warn again.
                post_incidents(api, new)
                sent |= {(i.fault_id, i.service) for i in new}
            time.sleep(max(0.0, LIVE_TICK_S - (time.time() - tick_start)))
    except KeyboardInterrupt:
        _console.print("stopped")


@app.command()
def simulate(
    days: Annotated[float, typer.Option(help="Days of history to generate.")] = 30.0,
    services: Annotated[int, typer.Option(help="Fleet size (10 is the reference fleet).")] = 10,
    step: Annotated[str, typer.Option(help="Time between samples: 60s, 5m, ...")] = "60s",
    seed: Annotated[int, typer.Option(help="Same seed, same history.")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="Write samples, incidents and topology into DIR.")
    ] = None,
    ingest: Annotated[bool, typer.Option(help="Send the history to a running server.")] = False,
    speed: Annotated[
        float | None,
        typer.Option(help="With --ingest: keep streaming live samples at this speed factor."),
    ] = None,
    live_for: Annotated[
        float | None, typer.Option(help="Stop live streaming after this many seconds.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(help="First timestamp (RFC 3339 or Unix seconds); default: DAYS ago."),
    ] = None,
    file_format: Annotated[
        str, typer.Option("--format", help="File format with --out: csv or parquet.")
    ] = "csv",
    url: Annotated[str | None, typer.Option(help="Server URL (default from config).")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key (default from config).")] = None,
    names: Annotated[
        str,
        typer.Option(help="Metric names: builtin, or prometheus (its names, units, counters)."),
    ] = "builtin",
    difficulty: Difficulty = "hard",
    rate: Rate = ORGANIC_RATE_PER_DAY,
) -> None:
    """Generate a simulated fleet's history with organic failures and ground-truth incidents."""
    if names not in NAMING_STYLES:
        raise typer.BadParameter(f"--names must be one of {', '.join(NAMING_STYLES)}")
    hardness = hardness_named(difficulty)
    if rate < 0:
        raise typer.BadParameter("--rate must not be negative")
    if (out is None) == (not ingest):
        raise typer.BadParameter("choose exactly one of --out DIR or --ingest")
    if file_format not in ("csv", "parquet"):
        raise typer.BadParameter("--format must be csv or parquet")
    if file_format == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise typer.BadParameter("--format parquet needs pyarrow installed")
    if speed is not None and (not ingest or speed <= 0):
        raise typer.BadParameter("--speed needs --ingest and a positive factor")
    try:
        step_ms = parse_duration_ms(step)
        first_ms = None if start is None else parse_ts(start)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    if step_ms % 1000:
        raise typer.BadParameter("--step must be a whole number of seconds")
    step_s = step_ms // 1000
    if first_ms is None:
        first = int(time.time() - days * 86400) // step_s * step_s
    else:
        first = first_ms // 1000

    with _console.status(f"simulating {days:g} days of {services} services"):
        result = history_matrix(
            days, services, step_s, seed, start=first, organic_rate_per_day=rate,
            hardness=hardness,
        )  # fmt: skip
    matrix = renamed(result.matrix, names)
    _console.print(
        f"{matrix.values.size:,} samples, {len(matrix.series)} series, "
        f"{len(result.incidents)} incidents"
    )
    if out is not None:
        target = write_history(
            out, matrix, result.incidents, result.topology.to_dict(), file_format
        )
        _console.print(f"wrote {target}, {out / 'incidents.csv'} and {out / 'topology.json'}")
        return

    with ApiClient(url, api_key) as api:
        sent = post_history(api, matrix, result.incidents)
        _console.print(f"sent {sent:,} samples to {api.url}")
        if speed is not None:
            fleet = Fleet(services, seed=seed, speed=speed, organic=True)
            _stream_live(api, fleet, live_for)
