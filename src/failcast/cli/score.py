"""`failcast score`: anomaly scores for a CSV of metrics, computed causally row by row."""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from failcast.cli._app import app
from failcast.detect.configs import DEFAULT, configuration, listed
from failcast.detect.scoring import score_table
from failcast.timeutil import parse_ts

# Soft wrap: a long path must not split a message that scripts and tests grep.
_err = Console(stderr=True, soft_wrap=True)


class InputError(ValueError):
    """The input file cannot be scored; the message says where and why."""


@dataclass
class Table:
    """Rows of one metrics CSV: the timestamp text as given, epoch ms, and the metric values."""

    stamps: list[str]
    times_ms: list[int]
    values: np.ndarray
    names: list[str] | None = None  # from a header row, when there is one


def _parse_time(text: str) -> int:
    try:
        return parse_ts(text)
    except ValueError:
        # Timestamps without a zone (as in many exported CSVs) are read as UTC.
        parsed = datetime.fromisoformat(text.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return round(parsed.timestamp() * 1000)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_table(path: Path) -> Table:
    """Read `timestamp,value` or `timestamp,m1,...,mk`, with or without a header row."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    with path.open(newline="") as handle:
        rows = [r for r in csv.reader(handle) if r and any(c.strip() for c in r)]
    names: list[str] | None = None
    if rows and not all(_is_number(c) or not c.strip() for c in rows[0][1:]):
        names = [c.strip() for c in rows[0][1:]]
        rows = rows[1:]  # a header
    if not rows:
        raise InputError(f"{path}: no data rows")
    width = len(rows[0])
    if width < 2:
        raise InputError(f"{path}: expected timestamp and at least one value column")
    stamps: list[str] = []
    times: list[int] = []
    values = np.empty((len(rows), width - 1))
    for i, row in enumerate(rows):
        line = i + 1
        if len(row) != width:
            raise InputError(f"{path}: row {line} has {len(row)} columns, expected {width}")
        try:
            times.append(_parse_time(row[0]))
        except ValueError:
            raise InputError(f"{path}: row {line}: {row[0]!r} is not a timestamp") from None
        stamps.append(row[0].strip())
        for j, cell in enumerate(row[1:]):
            text = cell.strip()
            if not text:
                values[i, j] = math.nan  # an empty cell is a missing sample
                continue
            try:
                values[i, j] = float(text)
            except ValueError:
                raise InputError(
                    f"{path}: row {line}, column {j + 2}: {cell!r} is not a number"
                ) from None
    if names is not None and len(names) != width - 1:
        names = None
    return Table(stamps, times, values, names)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`key=value` pairs as detector parameters; values are read as JSON where they parse."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--set {pair!r}: expected key=value")
        try:
            params[key.strip()] = json.loads(text)
        except json.JSONDecodeError:
            params[key.strip()] = text
    return params


def _cell(value: float) -> str:
    # Enough digits that two different scores never print the same.
    return "" if value != value else f"{value:.10g}"


@app.command()
def score(
    input_csv: Annotated[Path, typer.Argument(metavar="INPUT.csv", help="timestamp,value[,...]")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the scores.")],
    detector: Annotated[
        str,
        typer.Option(
            "--detector",
            "-d",
            help="A named configuration (`failcast detectors` lists them) or a detector kind.",
        ),
    ] = DEFAULT,
    overrides: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Override a detector parameter."),
    ] = None,
    train: Annotated[
        Path | None, typer.Option("--train", help="History to learn from first; not scored.")
    ] = None,
) -> None:
    """Write per-row anomaly scores in [0, 1), each computed on the past rows only.

    Columns: timestamp, anomaly_score (empty while there is no score: warming up, constant so
    far, or missing), change_score (how far the level has shifted), status, and for several
    metrics the drivers (the metrics behind the score, most surprising first). A score of 0.5
    or more is an alarm.
    """
    try:
        table = read_table(input_csv)
        history = read_table(train) if train is not None else None
        if history is not None and history.values.shape[1] != table.values.shape[1]:
            raise InputError(
                f"{train}: has {history.values.shape[1]} metrics, "
                f"{input_csv} has {table.values.shape[1]}"
            )
        config = configuration(detector)
        params = parse_params(overrides or [])
        config.check(table.values.shape[1], params)
    except (InputError, ValueError) as exc:
        # Escaped: brackets in a path or a cell are not markup.
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None

    times = np.asarray(table.times_ms, dtype=np.int64)
    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_err,
        transient=True,
    ) as progress:
        task = progress.add_task("score", total=len(times))
        try:
            result = score_table(
                table.values,
                times,
                detector=config.name,
                params=params,
                metrics=table.names,
                train=None
                if history is None
                else (history.values, np.asarray(history.times_ms, dtype=np.int64)),
            )
        except ValueError as exc:
            _err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        progress.update(task, advance=len(times))

    several = table.values.shape[1] > 1
    with output.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["timestamp", "anomaly_score", "change_score", "status"]
            + (["drivers"] if several else [])
        )
        for i, stamp in enumerate(table.stamps):
            row = [stamp, _cell(result.score[i]), _cell(result.change[i]), result.status[i]]
            if several:
                row.append(" ".join(result.drivers[i]) if result.drivers else "")
            writer.writerow(row)
    absent = sum(1 for v in result.score.tolist() if v != v)
    _err.print(
        f"wrote {len(times)} scores to {escape(str(output))} ({result.configuration}): "
        f"{result.alarms} at or above {result.threshold}, {absent} without a score"
    )
    for metric in result.metrics:
        if metric.scored == 0:
            _err.print(f"  {escape(metric.metric)}: never scored ({metric.status})")


@app.command()
def detectors() -> None:
    """List the named detector configurations; the default comes first."""
    out = Console(soft_wrap=True)
    for config in listed():
        kinds = " + ".join(
            k for k, spec in (("one metric", config.single), ("several", config.vector)) if spec
        )
        default_mark = " (default)" if config is listed()[0] else ""
        out.print(
            f"[bold]{escape(config.name)}[/bold]{default_mark} {escape('[' + kinds + ']')}",
            highlight=False,
        )
        out.print(f"  {escape(config.summary)}", highlight=False)
