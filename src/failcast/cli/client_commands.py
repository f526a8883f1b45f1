"""Commands that talk to a running server over its API."""

from __future__ import annotations

import csv
import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from failcast.cli._app import app
from failcast.cli._client import ApiClient, error_detail, fail

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


# The columns of the long format `failcast simulate` writes: one sample per row.
LONG_COLUMNS = ("service", "metric", "value")
TIME_COLUMNS = ("ts", "timestamp", "time")

Sample = dict[str, Any]


def _header(first: list[str]) -> list[str] | None:
    """The column names when the first row is a header (a non-numeric second cell)."""
    if len(first) >= 2 and first[1] != "" and not _is_number(first[1]):
        return [name.strip() for name in first]
    return None


def _value(cell: str, line: int, column: str) -> float | None:
    """The cell's number; None when it is empty or not finite (skipped, not an error)."""
    if cell.strip() == "":
        return None
    try:
        value = float(cell)
    except ValueError:
        fail(f"line {line}: {cell!r} in column {column!r} is not a number", code=2)
    return value if math.isfinite(value) else None


def _too_many(line: int, row: list[str], columns: int) -> None:
    if len(row) > columns:
        fail(
            f"line {line}: {len(row)} cells, but the file has {columns} columns;"
            " remove the extra cells or name them in the header",
            code=2,
        )


def read_samples(
    path: Path, service: str | None, default_metric: str
) -> Iterator[tuple[int, Sample]]:
    """(CSV line, sample) pairs of a file in either layout Failcast reads:

    - wide, `timestamp,m1,...,mk` (header row optional), all of `service`;
    - long, with a header naming `service`, `metric`, `value` and a time column (`ts`,
      `timestamp` or `time`), as `failcast simulate` writes; with `service` given, only that
      service's rows are read.
    """
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        first = next(reader, None)
        if first is None or len(first) < 2:
            fail(f"{path}: expected at least two columns, timestamp and a value", code=2)
        header = _header(first)
        if header is not None and set(LONG_COLUMNS) <= set(header):
            yield from _long_rows(reader, header, service)
            return
        if service is None:
            fail("--service is required for a file of timestamp,value columns", code=2)
        rows: Iterator[tuple[int, list[str]]]
        if header is not None:
            names, rows = header[1:], enumerate(reader, start=2)
        else:
            width = len(first) - 1
            names = (
                [default_metric]
                if width == 1
                else [f"{default_metric}_{i}" for i in range(1, width + 1)]
            )
            rows = itertools.chain([(1, first)], enumerate(reader, start=2))
        for line, row in rows:
            if not row:
                continue
            _too_many(line, row, len(names) + 1)
            ts = csv_timestamp(row[0], line)
            for name, cell in zip(names, row[1:], strict=False):
                value = _value(cell, line, name)
                if value is not None:
                    yield line, {"service": service, "metric": name, "ts": ts, "value": value}


def _long_rows(
    reader: Iterator[list[str]], header: list[str], service: str | None
) -> Iterator[tuple[int, Sample]]:
    time_column = next((c for c in TIME_COLUMNS if c in header), None)
    if time_column is None:
        fail(f"a long-format file needs a time column: one of {', '.join(TIME_COLUMNS)}", code=2)
    at = {name: header.index(name) for name in (*LONG_COLUMNS, time_column)}
    labels = [i for i, name in enumerate(header) if name not in at]
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        _too_many(line, row, len(header))
        if service is not None and row[at["service"]] != service:
            continue
        value = _value(row[at["value"]], line, "value")
        if value is None:
            continue
        sample: Sample = {
            "service": row[at["service"]],
            "metric": row[at["metric"]],
            "ts": csv_timestamp(row[at[time_column]], line),
            "value": value,
        }
        extra = {header[i]: row[i] for i in labels if i < len(row) and row[i] != ""}
        if extra:
            sample["labels"] = extra
        yield line, sample


def _problems_by_line(detail: Any, lines: list[int]) -> str | None:
    """A batch's validation problems with the CSV line of each sample instead of its index."""
    if not isinstance(detail, list):
        return None
    parts = []
    for problem in detail[:10]:
        if not isinstance(problem, dict):
            return None
        index = problem.get("index")
        where = f"line {lines[index]}" if isinstance(index, int) and index < len(lines) else "file"
        field = str(problem.get("field") or "").removeprefix("samples.")
        parts.append(f"{where}: {field + ': ' if field else ''}{problem.get('msg')}")
    more = f" (and {len(detail) - 10} more)" if len(detail) > 10 else ""
    return "; ".join(parts) + more


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    service: Annotated[
        str | None,
        typer.Option(
            "--service",
            "-s",
            help="Service the metrics belong to (wide files); with a long file, only its rows.",
        ),
    ] = None,
    metric: Annotated[
        str, typer.Option(help="Metric name when the file has no header row.")
    ] = "value",
    batch_size: Annotated[int, typer.Option(min=1, max=10_000)] = 5000,
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Send a CSV of metrics to the server: `timestamp,value` or `timestamp,m1,...,mk` rows of
    one service, or the long `ts,service,metric,value` rows `failcast simulate` writes.

    Timestamps are Unix seconds or ISO 8601 (UTC when no zone is given). Empty cells are
    skipped; a row with more cells than the file has columns is refused. Each batch is stored
    whole or not at all, and problems name the CSV line.
    """
    total_lines = sum(1 for _ in file.open())
    stored = 0
    batch: list[Sample] = []
    lines: list[int] = []
    services: set[str] = set()
    with (
        ApiClient(url, api_key) as client,
        Progress(
            TextColumn("[bold]ingest"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} lines"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        ) as progress,
    ):
        task = progress.add_task("ingest", total=total_lines)

        def flush() -> None:
            nonlocal stored
            if not batch:
                return
            response = client.send("POST", "/api/v1/metrics", json={"samples": batch})
            if response.status_code >= 400:
                detail = error_detail(response)
                by_line = _problems_by_line(detail, lines)
                fail(f"{response.status_code} from /api/v1/metrics: {by_line or detail}")
            stored += int(response.json()["accepted"])
            batch.clear()
            lines.clear()

        last = 0
        for line, sample in read_samples(file, service, metric):
            batch.append(sample)
            lines.append(line)
            services.add(sample["service"])
            if line != last:
                progress.update(task, completed=line)
                last = line
            if len(batch) >= batch_size:
                flush()
        flush()
        progress.update(task, completed=total_lines)
    names = ", ".join(sorted(services)[:5]) + (" ..." if len(services) > 5 else "")
    typer.echo(f"stored {stored} samples for {names or service or 'no service'}")
