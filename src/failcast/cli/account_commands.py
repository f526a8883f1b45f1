"""Signing in, the configuration file, organisations and API keys."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer

from failcast.cli._api import (
    DEFAULT_URL,
    JsonOption,
    UrlOption,
    api,
    detail,
    mask,
    read_config,
    show,
    write_config,
)
from failcast.cli._app import app
from failcast.cli._client import fail
from failcast.config import ClientSettings

org_app = typer.Typer(help="Organisations you belong to.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys of the current organisation.", no_args_is_help=True)
config_app = typer.Typer(help="The CLI's configuration file.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(apikey_app, name="apikey")
app.add_typer(config_app, name="config")


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
                    fail(f"the server refused the API key: {detail(check)}")
                values["api_key"] = api_key
            if email:
                secret = password or typer.prompt("Password", hide_input=True)
                answer = http.post("/api/v1/login", json={"email": email, "password": secret})
                if answer.status_code != 200:
                    fail(f"sign-in failed: {detail(answer)}")
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
