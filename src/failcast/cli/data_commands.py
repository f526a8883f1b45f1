"""Commands that read data over the REST API: services, queries, alerts, predictions and
exports. Every listing prints a Rich table, or JSON with `--json`."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from failcast.cli._api import STDERR, JsonOption, KeyOption, UrlOption, api, detail, show
from failcast.cli._app import app
from failcast.cli._client import fail
from failcast.readable import describe_factor, fmt_value
from failcast.store.ranges import Aggregation
from failcast.timeutil import ms_to_rfc3339, now_ms, parse_duration_ms, parse_ts

# --- data ----------------------------------------------------------------------------------


@app.command()
def services(url: UrlOption = None, api_key: KeyOption = None, as_json: JsonOption = False) -> None:
    """The org's services, models and pipelines."""
    with api(url, api_key) as client:
        rows = client.call("GET", "/api/v1/services")
    show(rows, as_json, ["id", "name", "kind", "team", "tier", "owner"], "services")


def _query_params(
    metric: str,
    service: str | None,
    labels: list[str] | None,
    start: str | None,
    end: str | None,
    step: str | None,
    agg: Aggregation,
    selector: str | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"metric": metric, "agg": agg.value}
    for name, value in (
        ("service", service),
        ("start", start),
        ("end", end),
        ("step", step),
        ("selector", selector),
    ):
        if value:
            params[name] = value
    if labels:
        params["labels"] = labels
    return params


ServiceOption = Annotated[str | None, typer.Option("--service", "-s", help="Only this service.")]
LabelOption = Annotated[
    list[str] | None, typer.Option("--label", "-l", help="Label matcher name=value (repeatable).")
]
SelectorOption = Annotated[
    str | None,
    typer.Option(
        "--selector",
        help='More matchers as a PromQL selector, e.g. \'{path=~"/v1/.*",code!="200"}\'.',
    ),
]
StartOption = Annotated[
    str | None, typer.Option(help="RFC 3339 or Unix seconds (default: end - 1h).")
]
EndOption = Annotated[str | None, typer.Option(help="RFC 3339 or Unix seconds (default: now).")]
StepOption = Annotated[str | None, typer.Option(help="Bucket width such as 60s, 5m, 1h.")]
AggOption = Annotated[Aggregation, typer.Option(help="Aggregation within each step.")]


@app.command()
def query(
    metric: Annotated[str, typer.Argument(help="Metric name.")],
    service: ServiceOption = None,
    label: LabelOption = None,
    selector: SelectorOption = None,
    start: StartOption = None,
    end: EndOption = None,
    step: StepOption = None,
    agg: AggOption = Aggregation.avg,
    url: UrlOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Series of one metric: a summary row per series, or every point with --json."""
    params = _query_params(metric, service, label, start, end, step, agg, selector)
    with api(url, api_key) as client:
        body = client.call("GET", "/api/v1/metrics", params=params)
    if as_json:
        show(body, True)
        return
    rows = []
    for series in body["series"]:
        values = [p[1] for p in series["points"]]
        rows.append(
            {
                "service": series["service"],
                "labels": series["labels"],
                "points": len(values),
                "min": min(values) if values else None,
                "max": max(values) if values else None,
                "last": values[-1] if values else None,
                "last_at": ms_to_rfc3339(round(series["points"][-1][0] * 1000)) if values else None,
            }
        )
    show(rows, False, title=f"{metric} from {body['start']} to {body['end']}")


@app.command()
def alerts(url: UrlOption = None, api_key: KeyOption = None, as_json: JsonOption = False) -> None:
    """Open alerts of the org."""
    with api(url, api_key) as client:
        rows = client.call("GET", "/api/v1/alerts", missing="alerting is not available")
    items = rows.get("alerts", rows.get("items", rows)) if isinstance(rows, dict) else rows
    show(items, as_json, title="alerts")


@app.command()
def predict(
    service: Annotated[str, typer.Argument(help="Service, model or pipeline name.")],
    url: UrlOption = None,
    api_key: KeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Failure probability of a service over the coming hours, with its main causes."""
    with api(url, api_key) as client:
        body = client.call(
            "POST",
            "/api/v1/predict",
            json={"service": service},
            missing="failure prediction is not available",
        )
    if as_json:
        show(body, True)
        return
    show_prediction(body, service)


def show_prediction(body: dict[str, Any], service: str) -> None:
    """A prediction as a person reads it: one row per horizon, then why."""
    console = Console(width=200 if not os.isatty(1) else None)
    table = Table("horizon", "P(failure)", "alarm at", "alarm", title=f"prediction for {service}")
    for horizon in body.get("horizons") or []:
        table.add_row(
            f"{horizon['hours']} h",
            fmt_value(float(horizon["probability"]), "fraction"),
            fmt_value(float(horizon["threshold"]), "fraction"),
            "yes" if horizon["alarm"] else "no",
        )
    console.print(table)
    kind = str(body.get("incident_type") or "unknown").replace("_", " ")
    confidence = fmt_value(float(body.get("confidence") or 0.0), "fraction")
    console.print(
        f"risk {body.get('risk_level')}; if it fails, most likely {kind} ({confidence} sure);"
        f" model v{body.get('model_version')}"
    )
    horizons = body.get("horizons") or []
    riskiest: dict[str, Any] = max(horizons, key=lambda h: float(h["probability"]), default={})
    factors = riskiest.get("factors") or []
    if factors:
        console.print("why:")
        for factor in factors[:5]:
            console.print(f"  - {escape(describe_factor(factor))}")


class ExportFormat(StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"
    xlsx = "xlsx"


# What the server exports whole; any other name is one metric's.
EXPORT_KINDS = ("metrics", "alerts", "incidents", "predictions")


def _windows(start_ms: int, end_ms: int, width_ms: int) -> Iterator[tuple[int, int]]:
    at = start_ms
    while at < end_ms:
        yield at, min(end_ms, at + width_ms)
        at += width_ms


def _labels_text(labels: dict[str, str]) -> str:
    return ";".join(f"{k}={v}" for k, v in sorted(labels.items()))


@app.command()
def export(
    metric: Annotated[
        str,
        typer.Argument(
            metavar="KIND|METRIC",
            help="metrics, alerts, incidents or predictions (all of the org's, from the "
            "server's export), or one metric's name.",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write; default (or -): standard output."),
    ] = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", "-f")] = ExportFormat.csv,
    service: ServiceOption = None,
    label: LabelOption = None,
    start: StartOption = None,
    end: EndOption = None,
    step: StepOption = None,
    agg: AggOption = Aggregation.avg,
    window: Annotated[
        str, typer.Option(help="Span fetched per request; shrink it for dense series.")
    ] = "1h",
    url: UrlOption = None,
    api_key: KeyOption = None,
) -> None:
    """Write metrics, alerts, incidents or predictions as CSV, JSON, JSON lines or Excel, or
    one metric's points (CSV or JSON) fetched window by window within the server's point limit.
    Kinds, JSON lines and Excel stream from the server's export (default span: 7 days)."""
    if metric in EXPORT_KINDS or fmt in (ExportFormat.jsonl, ExportFormat.xlsx):
        kind, one_metric = (metric, None) if metric in EXPORT_KINDS else ("metrics", metric)
        params = {"format": fmt.value, "start": start, "end": end, "service": service}
        params["metric"] = one_metric
        _download(url, api_key, f"/api/v1/export/{kind}", params, output)
        return
    try:
        end_ms = parse_ts(end) if end else now_ms()
        start_ms = parse_ts(start) if start else end_ms - 3_600_000
        width = parse_duration_ms(window)
    except ValueError as exc:
        fail(str(exc), code=2)
    if start_ms >= end_ms:
        fail("--start must be before --end", code=2)
    spans = list(_windows(start_ms, end_ms, width))
    written = 0
    with (
        api(url, api_key) as client,
        _sink(output, binary=False) as handle,
        Progress(
            TextColumn("[bold]export"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} windows"),
            TimeRemainingColumn(),
            console=STDERR,
        ) as progress,
    ):
        task = progress.add_task("export", total=len(spans))
        writer = csv.writer(handle)
        if fmt is ExportFormat.csv:
            writer.writerow(["service", "metric", "labels", "ts", "value"])
        else:
            handle.write("[")
        for lo, hi in spans:
            params = _query_params(
                metric, service, label, str(lo / 1000), str(hi / 1000), step, agg
            )
            body = client.call("GET", "/api/v1/metrics", params=params)
            for series in body["series"]:
                for ts, value in series["points"]:
                    stamp = ms_to_rfc3339(round(ts * 1000))
                    if fmt is ExportFormat.csv:
                        row = [series["service"], metric, _labels_text(series["labels"])]
                        writer.writerow([*row, stamp, repr(value)])
                    else:
                        item = {
                            "service": series["service"],
                            "metric": metric,
                            "labels": series["labels"],
                            "ts": stamp,
                            "value": value,
                        }
                        handle.write(("," if written else "") + "\n  " + json.dumps(item))
                    written += 1
            progress.advance(task)
        if fmt is ExportFormat.json:
            handle.write("\n]\n")
    typer.echo(f"wrote {written} points to {_where(output)}", err=True)


def _to_stdout(output: Path | None) -> bool:
    return output is None or str(output) == "-"


def _where(output: Path | None) -> str:
    return "standard output" if _to_stdout(output) else str(output)


@contextmanager
def _sink(output: Path | None, *, binary: bool) -> Iterator[Any]:
    """The file to write, or standard output when none (or `-`) is named."""
    if not _to_stdout(output):
        assert output is not None
        with output.open("wb") if binary else output.open("w", newline="") as handle:
            yield handle
        return
    if binary and sys.stdout.isatty():
        fail("an Excel file is binary: pass --output FILE.xlsx, or redirect the output", code=2)
    yield sys.stdout.buffer if binary else sys.stdout
    sys.stdout.flush()


def _download(
    url: str | None,
    api_key: str | None,
    path: str,
    params: dict[str, str | None],
    output: Path | None,
) -> None:
    """Stream a server export into `output`, showing the bytes received."""
    query = {k: v for k, v in params.items() if v}
    written = 0
    with api(url, api_key) as client:
        for attempt in range(2):
            headers = {"Authorization": f"Bearer {client.credential}"}
            try:
                with client.http.stream("GET", path, params=query, headers=headers) as response:
                    if response.status_code == 401 and attempt == 0 and client._refresh():
                        continue
                    if response.status_code >= 400:
                        response.read()
                        fail(f"{response.status_code} from {path}: {detail(response)}")
                    with (
                        _sink(output, binary=True) as handle,
                        Progress(
                            TextColumn("[bold]export"),
                            TextColumn("{task.completed:,} bytes"),
                            console=STDERR,
                        ) as progress,
                    ):
                        task = progress.add_task("export", total=None)
                        for block in response.iter_bytes():
                            handle.write(block)
                            written += len(block)
                            progress.update(task, completed=written)
            except httpx.HTTPError as exc:
                fail(f"cannot reach {client.url}: {exc}")
            break
    typer.echo(f"wrote {written} bytes to {_where(output)}", err=True)
