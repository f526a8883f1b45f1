"""`failcast score`: anomaly scores for a CSV of metrics, computed causally row by row."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from failcast.cli import app
from failcast.detect import create, names
from failcast.detect.base import BaseDetector
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
    if rows and not all(_is_number(c) or not c.strip() for c in rows[0][1:]):
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
    return Table(stamps, times, values)


def build_detector(name: str, metrics: int) -> BaseDetector:
    detector = create(name)
    if metrics > 1 and not detector.multivariate:
        return create("per_metric", inner={"name": name})
    return detector


@app.command()
def score(
    input_csv: Annotated[Path, typer.Argument(metavar="INPUT.csv", help="timestamp,value[,...]")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the scores.")],
    detector: Annotated[
        str, typer.Option("--detector", "-d", help=f"One of: {', '.join(names())}.")
    ] = "ensemble",
    train: Annotated[
        Path | None, typer.Option("--train", help="History to learn from first; not scored.")
    ] = None,
) -> None:
    """Write `timestamp,anomaly_score` (0..1) for every input row, each scored on the past only."""
    try:
        table = read_table(input_csv)
        metrics = table.values.shape[1]
        det = build_detector(detector, metrics)
        if train is not None:
            history = read_table(train)
            if history.values.shape[1] != metrics:
                raise InputError(
                    f"{train}: has {history.values.shape[1]} metrics, {input_csv} has {metrics}"
                )
            det.fit(history.values, np.asarray(history.times_ms, dtype=np.int64))
    except (InputError, ValueError) as exc:
        # Escaped: brackets in a path or a cell are not markup.
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None

    rows = table.values if metrics > 1 else table.values[:, 0]
    scores = np.empty(len(table.stamps))
    chunk = 2000
    with Progress(
        TextColumn("scoring"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=_err,
        transient=True,
    ) as progress:
        task = progress.add_task("score", total=len(scores))
        times = np.asarray(table.times_ms, dtype=np.int64)
        for start in range(0, len(scores), chunk):
            stop = start + chunk
            scores[start:stop] = det.score(rows[start:stop], times[start:stop])
            progress.update(task, advance=len(scores[start:stop]))

    with output.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "anomaly_score"])
        for stamp, value in zip(table.stamps, scores.tolist(), strict=True):
            writer.writerow([stamp, f"{value:.6f}"])
    _err.print(f"wrote {len(scores)} scores to {escape(str(output))}")
