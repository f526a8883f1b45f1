"""`failcast rca`: which service explains a symptom, from sample files and a topology file."""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from failcast.cli._app import app
from failcast.cli.score import _parse_time
from failcast.rca import Analysis, AnalysisError, Question, Series, analyse
from failcast.rca.analysis import (
    AFTER_MS,
    BEFORE_MS,
    NORMAL_MS,
    candidate_dict,
    series_name,
)
from failcast.timeutil import ms_to_rfc3339, parse_duration_ms

_err = Console(stderr=True, soft_wrap=True)
_out = Console(soft_wrap=True)
SAMPLE_COLUMNS = ("ts", "service", "metric", "value")


class InputError(ValueError):
    """An input file cannot be used; the message says which file, row and column."""


class Output(StrEnum):
    table = "table"
    json = "json"


def _labels(text: str, where: str) -> dict[str, str]:
    """`k=v;k=v` (as `failcast export` writes) or a JSON object."""
    text = text.strip()
    if not text:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise InputError(f"{where}: labels are not a JSON object") from None
        if not isinstance(data, dict):
            raise InputError(f"{where}: labels are not a JSON object")
        return {str(k): str(v) for k, v in data.items()}
    out = {}
    for part in text.split(";"):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise InputError(f"{where}: labels must be k=v;k=v or a JSON object, not {text!r}")
        out[key.strip()] = value.strip()
    return out


def _sample(
    path: Path, line: int, row: list[str], at: dict[str, int]
) -> tuple[str, str, int, float]:
    """(service, series name, ts ms, value) of one CSV row."""

    def cell(name: str) -> str:
        return row[at[name]].strip()

    def where(name: str) -> str:
        return f"{path}: row {line}, column {at[name] + 1} ({name})"

    try:
        ts = _parse_time(cell("ts"))
    except ValueError:
        raise InputError(f"{where('ts')}: {cell('ts')!r} is not a timestamp") from None
    service, metric = cell("service"), cell("metric")
    for name, found in (("service", service), ("metric", metric)):
        if not found:
            raise InputError(f"{where(name)}: empty")
    text = cell("value")
    try:
        value = float(text) if text else math.nan
    except ValueError:
        raise InputError(f"{where('value')}: {text!r} is not a number") from None
    labels = _labels(cell("labels"), where("labels")) if "labels" in at else {}
    return service, series_name(metric, labels), ts, value


def read_samples(paths: Sequence[Path]) -> list[Series]:
    """`ts,service,metric,value[,labels]` CSV files (with a header, columns in any order)."""
    points: dict[tuple[str, str], tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
    for path in paths:
        if not path.is_file():
            raise InputError(f"{path}: file not found")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [c.strip().lower() for c in next(reader, [])]
            missing = [c for c in SAMPLE_COLUMNS if c not in header]
            if missing:
                raise InputError(
                    f"{path}: row 1: the header needs columns {', '.join(SAMPLE_COLUMNS)} "
                    f"(optional labels); missing {', '.join(missing)}"
                )
            at = {n: header.index(n) for n in (*SAMPLE_COLUMNS, "labels") if n in header}
            for line, row in enumerate(reader, start=2):
                if not row or not any(c.strip() for c in row):
                    continue
                if len(row) < len(header):
                    raise InputError(
                        f"{path}: row {line} has {len(row)} columns, expected {len(header)}"
                    )
                service, name, ts, value = _sample(path, line, row, at)
                times, values = points[(service, name)]
                times.append(ts)
                values.append(value)
    if not points:
        raise InputError(f"{', '.join(map(str, paths))}: no samples")
    return [
        Series(service, metric, np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64))
        for (service, metric), (t, v) in points.items()
    ]


def _names(items: Any, where: str) -> list[str]:
    if not isinstance(items, list):
        raise InputError(f"{where}: expected a list of service names")
    out = []
    for item in items:
        name = item.get("target", item.get("name")) if isinstance(item, dict) else item
        if not isinstance(name, str) or not name:
            raise InputError(f"{where}: {item!r} is not a service name")
        out.append(name)
    return out


def read_topology(path: Path) -> dict[str, tuple[str, ...]]:
    """`topology.json` (services with `dependencies`, as `failcast simulate` writes, or
    `depends_on` as the API's topology has) or a CSV edge list `caller,callee`."""
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    text = path.read_text(encoding="utf-8-sig")
    deps: dict[str, list[str]] = defaultdict(list)
    if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
        services = data.get("services") if isinstance(data, dict) else None
        if not isinstance(services, list):
            raise InputError(f'{path}: expected {{"services": [{{"name", "dependencies"}}]}}')
        for index, service in enumerate(services):
            where = f"{path}: services[{index}]"
            if not isinstance(service, dict) or not isinstance(service.get("name"), str):
                raise InputError(f"{where}: needs a name")
            key = "dependencies" if "dependencies" in service else "depends_on"
            deps[service["name"]] += _names(service.get(key, []), f"{where}.{key}")
        return {k: tuple(v) for k, v in deps.items()}
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0][:2]] == ["caller", "callee"]:
        rows = rows[1:]
    for line, row in enumerate(rows, start=1):
        if len(row) != 2 or not row[0].strip() or not row[1].strip():
            raise InputError(f"{path}: row {line}: expected caller,callee")
        deps[row[0].strip()].append(row[1].strip())
        deps.setdefault(row[1].strip(), [])
    if not deps:
        raise InputError(f"{path}: no edges")
    return {k: tuple(v) for k, v in deps.items()}


def _duration(option: str, text: str) -> int:
    try:
        return parse_duration_ms(text)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}") from None


def _minutes(ms: int) -> str:
    return f"{ms // 60_000}m"


def print_table(analysis: Analysis) -> None:
    q = analysis.question
    symptom = q.service if q.metric is None else f"{q.service}:{q.metric}"
    verdict = analysis.verdict.replace("_", " ")
    colour = "green" if analysis.verdict == "root_cause" else "yellow"
    _out.print(
        f"[bold]{escape(symptom)}[/] at {ms_to_rfc3339(q.at_ms)}: "
        f"[{colour}]{verdict}[/] - {escape(analysis.ranking.reason)}"
    )
    grid = Table(show_lines=False)
    for name, justify in (("#", "right"), ("service", "left"), ("metric", "left"),
                          ("score", "right"), ("evidence", "left")):  # fmt: skip
        grid.add_column(name, justify=justify)  # type: ignore[arg-type]
    for rank, c in enumerate(analysis.candidates[:10], start=1):
        item = candidate_dict(c)
        grid.add_row(
            str(rank), escape(c.service), escape(item["metric"] or "-"),
            f"{c.score:.2f}", escape(item["evidence"]),
        )  # fmt: skip
    _out.print(grid)
    if analysis.unjudged:
        _out.print(f"no usable samples for: {escape(', '.join(analysis.unjudged))}")


@app.command()
def rca(
    samples: Annotated[
        list[Path],
        typer.Option("--samples", help="CSV of ts,service,metric,value[,labels]; repeatable."),
    ],
    symptom: Annotated[
        str, typer.Option("--symptom", help="SERVICE or SERVICE:METRIC that went wrong.")
    ],
    at: Annotated[str, typer.Option("--at", help="When it went wrong (RFC 3339 or Unix s).")],
    topology: Annotated[
        Path | None,
        typer.Option(help="topology.json (services with dependencies) or caller,callee CSV."),
    ] = None,
    normal: Annotated[
        list[Path] | None,
        typer.Option("--normal", help="Samples of normal operation to learn from; repeatable."),
    ] = None,
    output: Annotated[Output, typer.Option("--output", "-o", help="table or json.")] = Output.table,
    before: Annotated[str, typer.Option(help="Window start before --at.")] = _minutes(BEFORE_MS),
    after: Annotated[str, typer.Option(help="Window end after --at.")] = _minutes(AFTER_MS),
    normal_span: Annotated[
        str, typer.Option(help="Without --normal: history before the window to learn from.")
    ] = _minutes(NORMAL_MS),
) -> None:
    """Rank the services that may explain SYMPTOM at --at, with the metric that points there."""
    try:
        service, _, metric = symptom.partition(":")
        if not service.strip():
            raise InputError("--symptom: give SERVICE or SERVICE:METRIC")
        try:
            at_ms = _parse_time(at)
        except ValueError:
            raise InputError(f"--at: {at!r} is not a timestamp") from None
        question = Question(
            service.strip(), at_ms, metric.strip() or None,
            before_ms=_duration("--before", before), after_ms=_duration("--after", after),
            normal_ms=_duration("--normal-span", normal_span),
        )  # fmt: skip
        data = read_samples(samples)
        learned = read_samples(normal) if normal else None
        deps = read_topology(topology) if topology is not None else {}
        analysis = analyse(data, deps, question, normal=learned)
    except (InputError, AnalysisError) as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    if output is Output.json:
        print(json.dumps(analysis.to_dict(), indent=2))
    else:
        print_table(analysis)
