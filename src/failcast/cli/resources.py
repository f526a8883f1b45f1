"""Commands for the API's resources, declared as a table: one `Op` per API operation.

Every command is `failcast GROUP COMMAND [PATH ARGUMENTS] [OPTIONS]`:

- path parameters are arguments, in the order of the path (`failcast team add-member 3 17`);
- query parameters are options (`--state firing`, repeatable), and `--param key=value` passes
  any other;
- a request body comes from `--file` (JSON or YAML, `-` for standard input) and `--set
  key=value` (repeatable; the value is read as YAML, so `5`, `true` and `[a, b]` are typed, and
  dotted keys nest: `--set config.url=https://...`);
- answers print as a table (`--output table`, the default), or as `json` or `yaml`.

`COVERAGE` says which command stands for each API operation, including the hand-written
commands elsewhere in the CLI, and `NOT_IN_CLI` lists the operations no command offers,
each with the reason; `tests/cli/test_coverage.py` fails when a route is in neither.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

from failcast.cli._api import KeyOption, UrlOption, api, detail, show
from failcast.cli._client import fail


class Output(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"


@dataclass(frozen=True)
class Op:
    """One API operation as one command."""

    name: str
    method: str
    path: str
    help: str
    query: tuple[str, ...] = ()
    columns: tuple[str, ...] = ()
    # The body: JSON built from --file and --set, or a file sent as is with this media type.
    body: bool = False
    media_type: str | None = None
    # Operations on people's accounts and orgs take the signed-in token before an API key.
    person: bool = False
    # A binary answer (PDF) written to --out.
    download: bool = False


@dataclass(frozen=True)
class Group:
    name: str
    help: str
    ops: tuple[Op, ...]


def emit(data: Any, output: Output, columns: tuple[str, ...] = (), title: str = "") -> None:
    """An answer as a table, JSON or YAML."""
    if output is Output.json:
        typer.echo(json.dumps(data, indent=2, default=str))
    elif output is Output.yaml:
        typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip())
    elif data is None:
        typer.echo("done")
    elif isinstance(data, dict) and isinstance(data.get("items"), list):
        show(data["items"], False, list(columns) or None, title)
        if data.get("next_cursor"):
            typer.echo(f"more: --param cursor={data['next_cursor']}")
    else:
        show(data, False, list(columns) or None, title)


def _value(text: str) -> Any:
    """A typed value (number, boolean, null, list, object) when YAML reads one; otherwise the
    text exactly as given (so `>` or `a: b` stay strings)."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, str) or (value is None and text.strip() not in ("null", "~")):
        return text
    return value


def build_body(file: Path | None, sets: list[str] | None) -> Any:
    """The JSON body from a JSON or YAML file and `key=value` settings on top."""
    body: Any = {}
    if file is not None:
        text = sys.stdin.read() if str(file) == "-" else file.read_text()
        try:
            body = yaml.safe_load(text) if text.strip() else {}
        except yaml.YAMLError as exc:
            fail(f"{file} is neither JSON nor YAML: {exc}", code=2)
    for item in sets or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            fail(f"--set takes key=value, not {item!r}", code=2)
        if not isinstance(body, dict):
            fail("--set needs a body that is an object", code=2)
        target = body
        *parents, leaf = key.split(".")
        for part in parents:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                fail(f"--set {key}: {part} is not an object", code=2)
        target[leaf] = _value(raw)
    return body


def _pairs(items: list[str] | None, option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            fail(f"{option} takes key=value, not {item!r}", code=2)
        pairs.append((key, value))
    return pairs


def path_names(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def _option_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def command(group: Group, op: Op) -> Callable[..., None]:
    """The Typer command of one operation (its signature built from the path and query)."""
    positional = path_names(op.path)
    params = [
        inspect.Parameter(
            name,
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(metavar=name.upper())],
        )
        for name in positional
    ]
    keyword = inspect.Parameter.KEYWORD_ONLY
    for name in op.query:
        params.append(
            inspect.Parameter(
                name,
                keyword,
                default=None,
                annotation=Annotated[
                    list[str] | None,
                    typer.Option(_option_name(name), help=f"The `{name}` query parameter."),
                ],
            )
        )
    extra: list[tuple[str, Any, Any]] = [
        (
            "param",
            None,
            Annotated[
                list[str] | None,
                typer.Option("--param", "-p", help="Any query parameter, as key=value."),
            ],
        )
    ]
    if op.body or op.media_type:
        extra.append(
            (
                "file",
                None,
                Annotated[
                    Path | None,
                    typer.Option(
                        "--file", "-f", help="The body: a JSON or YAML file, - for stdin."
                    ),
                ],
            )
        )
    if op.body:
        extra.append(
            (
                "sets",
                None,
                Annotated[
                    list[str] | None,
                    typer.Option("--set", help="A body field, as key=value (dotted keys nest)."),
                ],
            )
        )
    if op.download:
        extra.append(
            ("out", ..., Annotated[Path, typer.Option("--out", help="Where to write the file.")])
        )
    else:
        extra.append(
            (
                "output",
                Output.table,
                Annotated[Output, typer.Option("--output", "-o", help="table, json or yaml.")],
            )
        )
    extra += [("url", None, UrlOption), ("api_key", None, KeyOption)]
    for name, default, annotation in extra:
        params.append(inspect.Parameter(name, keyword, default=default, annotation=annotation))

    def run(**kwargs: Any) -> None:
        path = op.path
        for name in positional:
            path = path.replace("{" + name + "}", httpx.URL(kwargs[name]).raw_path.decode())
        query = [(name, v) for name in op.query for v in kwargs.get(name) or []]
        query += _pairs(kwargs.get("param"), "--param")
        request: dict[str, Any] = {"params": query} if query else {}
        if op.media_type:
            file = kwargs.get("file")
            if file is None:
                fail("--file is required", code=2)
            text = sys.stdin.read() if str(file) == "-" else file.read_text()
            request |= {"content": text.encode(), "headers": {"Content-Type": op.media_type}}
        elif op.body:
            request["json"] = build_body(kwargs.get("file"), kwargs.get("sets"))
        with api(kwargs.get("url"), kwargs.get("api_key"), person=op.person) as client:
            if op.download:
                _download(client, op.method, path, request, kwargs["out"])
                return
            answer = client.call(op.method, path, **request)
        emit(answer, kwargs["output"], op.columns, f"{group.name} {op.name}")

    run.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    run.__doc__ = op.help
    run.__name__ = f"{group.name}_{op.name}".replace("-", "_")
    return run


def _download(client: Any, method: str, path: str, request: dict[str, Any], out: Path) -> None:
    """Stream a file to `out`, with a progress bar on a terminal (reports take a while)."""
    headers = {"Authorization": f"Bearer {client.credential}"}
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        console=Console(stderr=True),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    try:
        with progress, client.http.stream(method, path, headers=headers, **request) as response:
            if response.status_code >= 400:
                response.read()
                fail(f"{response.status_code} from {path}: {detail(response)}")
            size = response.headers.get("Content-Length")
            task = progress.add_task(out.name, total=int(size) if size else None)
            with out.open("wb") as handle:
                for chunk in response.iter_bytes():
                    handle.write(chunk)
                    progress.advance(task, len(chunk))
    except httpx.HTTPError as exc:
        fail(f"cannot reach {client.url}: {exc}")
    typer.echo(f"wrote {out}")
