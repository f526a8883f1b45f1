"""Commands over the REST API: sign in, services, queries, alerts, predictions, exports,
organisations and API keys. Every listing prints a Rich table, or JSON with `--json`."""

from __future__ import annotations

import csv
import json
import os
import stat
import sys
import tomllib
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

from failcast.cli._app import app
from failcast.cli._client import fail
from failcast.config import ClientSettings
from failcast.readable import describe_factor, fmt_value
from failcast.store.samples import Aggregation
from failcast.timeutil import ms_to_rfc3339, now_ms, parse_duration_ms, parse_ts

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Server URL (default: FAILCAST_URL or config file).")
]
KeyOption = Annotated[
    str | None,
    typer.Option("--api-key", help="API key (default: FAILCAST_API_KEY or config file)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

CONFIG_KEYS = ("url", "api_key", "token", "refresh_token")
# Where `failcast up` (and `make run`) serves, so a first `failcast login` needs no URL.
DEFAULT_URL = ClientSettings.model_fields["url"].get_default()
# Progress bars and notes go to standard error, so that standard output carries only data.
STDERR = Console(stderr=True)
SECRET_KEYS = frozenset({"api_key", "token", "refresh_token"})

org_app = typer.Typer(help="Organisations you belong to.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys of the current organisation.", no_args_is_help=True)
config_app = typer.Typer(help="The CLI's configuration file.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(apikey_app, name="apikey")
app.add_typer(config_app, name="config")


# --- configuration -------------------------------------------------------------------------


def config_path() -> Path:
    return ClientSettings().config_file


def read_config(path: Path | None = None) -> dict[str, str]:
    path = path or config_path()
    if not path.is_file():
        return {}
    data = tomllib.loads(path.read_text())
    return {k: str(v) for k, v in data.items() if k in CONFIG_KEYS}


def write_config(values: dict[str, str], path: Path | None = None) -> Path:
    """Write the config file readable by its owner only (it holds credentials)."""
    path = path or config_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # json.dumps of a str is a valid TOML basic string (same escapes).
    text = "".join(f"{k} = {json.dumps(values[k])}\n" for k in CONFIG_KEYS if values.get(k))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    return path


def mask(value: str) -> str:
    return value[:10] + "…" if len(value) > 12 else "…"


# --- HTTP ----------------------------------------------------------------------------------


class Api:
    """The server, with the API key for data and the signed-in token for people's actions."""

    def __init__(self, url: str | None, api_key: str | None, *, person: bool = False) -> None:
        settings = ClientSettings().with_file()
        self.config = read_config(settings.config_file)
        self.path = settings.config_file
        self.url = (url or settings.url).rstrip("/")
        token = self.config.get("token", "")
        key = api_key or settings.api_key
        # Managing orgs and keys needs a person; reading data takes an API key first.
        self.credential = (token or key) if person else (key or token)
        if not self.credential:
            fail(f"not signed in: run `failcast login`, or pass --api-key (config: {self.path})")
        self.person = person
        self.http = httpx.Client(base_url=self.url, timeout=60.0)

    def close(self) -> None:
        self.http.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.credential}"}
        try:
            return self.http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach {self.url}: {exc}")

    def _refresh(self) -> bool:
        """Trade the stored refresh token for a new pair; False when there is none."""
        refresh = self.config.get("refresh_token")
        if not refresh or self.credential != self.config.get("token"):
            return False
        response = self.http.post("/api/v1/token/refresh", json={"refresh_token": refresh})
        if response.status_code != 200:
            return False
        body = response.json()
        self.config |= {"token": body["access_token"], "refresh_token": body["refresh_token"]}
        write_config(self.config, self.path)
        self.credential = body["access_token"]
        return True

    def call(self, method: str, path: str, *, missing: str | None = None, **kwargs: Any) -> Any:
        """The decoded answer; an error status exits with the server's explanation."""
        response = self._send(method, path, **kwargs)
        if response.status_code == 401 and self._refresh():
            response = self._send(method, path, **kwargs)
        if response.status_code == 404 and missing and _route_missing(response):
            fail(f"{missing} (404 from {path}: this server does not offer it yet)")
        if response.status_code >= 400:
            fail(f"{response.status_code} from {path}: {_detail(response)}")
        return response.json() if response.content else None


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return body.get("detail", body) if isinstance(body, dict) else body


def _route_missing(response: httpx.Response) -> bool:
    # An unknown route answers FastAPI's bare "Not Found"; a known one names what is missing.
    return bool(_detail(response) == "Not Found")


@contextmanager
def api(url: str | None, api_key: str | None, *, person: bool = False) -> Iterator[Api]:
    client = Api(url, api_key, person=person)
    try:
        yield client
    finally:
        client.close()


# --- output --------------------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in sorted(value.items()))
    if isinstance(value, list):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def show(data: Any, as_json: bool, columns: list[str] | None = None, title: str = "") -> None:
    """JSON, or a table of a list of objects (or of one object's fields)."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    console = Console(width=200 if not os.isatty(1) else None)
    if isinstance(data, dict):
        table = Table("field", "value", title=title or None)
        for key, value in data.items():
            table.add_row(str(key), _cell(value))
        console.print(table)
        return
    rows = list(data or [])
    if not rows:
        console.print(f"no {title or 'items'}")
        return
    names = columns or list(rows[0])
    table = Table(*names, title=title or None)
    for row in rows:
        table.add_row(*(_cell(row.get(name)) for name in names))
    console.print(table)


# --- sign-in and configuration -------------------------------------------------------------


@app.command()
def login(
    url: Annotated[
        str, typer.Option("--url", envvar="FAILCAST_URL", help="Server URL.")
    ] = DEFAULT_URL,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Store an API key for data commands.")
    ] = None,
    email: Annotated[
        str | None, typer.Option("--email", help="Sign in as a person (password is prompted).")
    ] = None,
    password: Annotated[
        str | None, typer.Option("--password", envvar="FAILCAST_PASSWORD", hidden=True)
    ] = None,
) -> None:
    """Check credentials against the server and store them in the config file (mode 0600)."""
    if not api_key and not email:
        fail("pass --api-key, or --email to sign in with a password", code=2)
    url = url.rstrip("/")
    values = read_config()
    values["url"] = url
    with httpx.Client(base_url=url, timeout=30) as http:
        try:
            if api_key:
                check = http.get("/api/v1/stats", headers={"Authorization": f"Bearer {api_key}"})
                if check.status_code in (401, 403):
                    fail(f"the server refused the API key: {_detail(check)}")
                values["api_key"] = api_key
            if email:
                secret = password or typer.prompt("Password", hide_input=True)
                answer = http.post("/api/v1/login", json={"email": email, "password": secret})
                if answer.status_code != 200:
                    fail(f"sign-in failed: {_detail(answer)}")
                body = answer.json()
                values["token"] = body["access_token"]
                values["refresh_token"] = body.get("refresh_token", "")
        except httpx.HTTPError as exc:
            fail(f"cannot reach {url}: {exc}")
    path = write_config(values)
    typer.echo(f"signed in to {url}; credentials stored in {path}")


@config_app.command("show")
def config_show(as_json: JsonOption = False) -> None:
    """Where the CLI connects and with what (secrets shortened)."""
    settings = ClientSettings().with_file()
    stored = read_config(settings.config_file)
    shown = {
        "config_file": str(settings.config_file),
        "url": settings.url,
        "api_key": mask(settings.api_key) if settings.api_key else None,
        "token": mask(stored["token"]) if stored.get("token") else None,
    }
    show(shown, as_json, title="configuration")


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
                        fail(f"{response.status_code} from {path}: {_detail(response)}")
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


# --- organisations and API keys ------------------------------------------------------------


@org_app.command("list")
def org_list(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """Organisations you belong to, with your role."""
    with api(url, None, person=True) as client:
        rows = client.call("GET", "/api/v1/orgs")
    show(rows, as_json, ["id", "name", "slug", "plan", "role"], "organisations")


@org_app.command("current")
def org_current(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """The organisation the CLI acts in."""
    with api(url, None, person=True) as client:
        show(client.call("GET", "/api/v1/orgs/current"), as_json, title="organisation")


@org_app.command("create")
def org_create(
    name: Annotated[str, typer.Argument(help="Name of the new organisation.")],
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an organisation; you own it."""
    with api(url, None, person=True) as client:
        show(client.call("POST", "/api/v1/orgs", json={"name": name}), as_json, title="created")


@org_app.command("switch")
def org_switch(
    org_id: Annotated[int, typer.Argument(help="Id from `failcast org list`.")],
    url: UrlOption = None,
) -> None:
    """Act in another organisation from now on (stores the new token)."""
    with api(url, None, person=True) as client:
        body = client.call("POST", f"/api/v1/orgs/{org_id}/switch")
        values = client.config | {"token": body["access_token"]}
        if body.get("refresh_token"):
            values["refresh_token"] = body["refresh_token"]
        write_config(values, client.path)
    typer.echo(f"now acting in organisation {org_id}")


@apikey_app.command("create")
def apikey_create(
    name: Annotated[str, typer.Argument(help="What the key is for.")],
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="ingest, read, write or admin (repeatable).")
    ] = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an API key; the full key is shown this once."""
    body: dict[str, Any] = {"name": name}
    if scope:
        body["scopes"] = scope
    with api(url, None, person=True) as client:
        created = client.call("POST", "/api/v1/api-keys", json=body)
    if as_json:
        show(created, True)
        return
    show({k: created[k] for k in ("id", "name", "prefix", "scopes")}, False, title="API key")
    typer.echo(f"key (shown once): {created['key']}")


@apikey_app.command("list")
def apikey_list(url: UrlOption = None, as_json: JsonOption = False) -> None:
    """API keys of the current organisation (prefixes only)."""
    with api(url, None, person=True) as client:
        rows = client.call("GET", "/api/v1/api-keys")
    columns = ["id", "name", "prefix", "scopes", "created_at", "last_used_at", "revoked_at"]
    show(rows, as_json, columns, "API keys")


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: Annotated[int, typer.Argument(help="Id from `failcast apikey list`.")],
    url: UrlOption = None,
) -> None:
    """Revoke an API key; requests made with it are refused from now on."""
    with api(url, None, person=True) as client:
        revoked = client.call("DELETE", f"/api/v1/api-keys/{key_id}")
    typer.echo(f"revoked API key {revoked['id']} ({revoked['name']})")
