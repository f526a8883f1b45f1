"""Commands that talk to a running server over its API."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from failcast.cli import app
from failcast.cli._client import ApiClient, fail

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Server URL (default: FAILCAST_URL or config file).")
]
KeyOption = Annotated[
    str | None,
    typer.Option("--api-key", help="API key (default: FAILCAST_API_KEY or config file)."),
]


def csv_timestamp(text: str, line: int) -> float:
    """Unix seconds from Unix seconds or ISO 8601 text; text without a zone is taken as UTC."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        fail(f"line {line}: {text!r} is neither Unix seconds nor an ISO 8601 time", code=2)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_wide_csv(
    path: Path, default_metric: str
) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Metric names and (line, row) pairs of a `timestamp,m1,...,mk` file; the header row is
    optional (it is recognised by a non-numeric second cell)."""
    handle = path.open(newline="")
    reader = csv.reader(handle)
    first = next(reader, None)
    if first is None or len(first) < 2:
        fail(f"{path}: expected at least two columns, timestamp and a value", code=2)
    if _is_number(first[1]) or first[1] == "":
        names = (
            [default_metric]
            if len(first) == 2
            else [f"{default_metric}_{i}" for i in range(1, len(first))]
        )
        pending: list[tuple[int, list[str]]] = [(1, first)]
    else:
        names = [name.strip() for name in first[1:]]
        pending = []

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            yield from pending
            for line, row in enumerate(reader, start=2):
                if row:
                    yield line, row
        finally:
            handle.close()

    return names, rows()


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    service: Annotated[str, typer.Option("--service", "-s", help="Service the metrics belong to.")],
    metric: Annotated[
        str, typer.Option(help="Metric name when the file has no header row.")
    ] = "value",
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 5000,
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Send a CSV of `timestamp,value` or `timestamp,m1,...,mk` rows to the server.

    Timestamps are Unix seconds or ISO 8601 (UTC when no zone is given). Empty cells are
    skipped. Each batch is stored whole or not at all.
    """
    total_lines = sum(1 for _ in file.open())
    names, rows = read_wide_csv(file, metric)
    stored = 0
    batch: list[dict[str, Any]] = []
    with (
        ApiClient(url, api_key) as client,
        Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} rows"),
            TimeRemainingColumn(),
        ) as progress,
    ):
        task = progress.add_task("ingest", total=total_lines)

        def flush() -> None:
            nonlocal stored
            if batch:
                result = client.request("POST", "/api/v1/metrics", json={"samples": batch})
                stored += int(result["accepted"])
                batch.clear()

        for line, row in rows:
            ts = csv_timestamp(row[0], line)
            for name, cell in zip(names, row[1:], strict=False):
                if cell.strip() == "":
                    continue
                try:
                    value = float(cell)
                except ValueError:
                    fail(f"line {line}: {cell!r} in column {name!r} is not a number", code=2)
                if not math.isfinite(value):
                    continue
                batch.append({"service": service, "metric": name, "ts": ts, "value": value})
            if len(batch) >= batch_size:
                flush()
            progress.advance(task)
        flush()
        progress.update(task, completed=total_lines)
    typer.echo(f"stored {stored} samples for {service}")
