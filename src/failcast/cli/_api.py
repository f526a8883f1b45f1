"""What every API command shares: the CLI's configuration file, the server client (which
refreshes a signed-in token once), and printing answers as Rich tables or JSON."""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from failcast.cli._client import fail
from failcast.config import ClientSettings

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
            fail(f"{response.status_code} from {path}: {detail(response)}")
        return response.json() if response.content else None


def detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text
    return body.get("detail", body) if isinstance(body, dict) else body


def _route_missing(response: httpx.Response) -> bool:
    # An unknown route answers FastAPI's bare "Not Found"; a known one names what is missing.
    return bool(detail(response) == "Not Found")


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
