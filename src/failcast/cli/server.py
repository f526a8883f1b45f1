"""Commands that run the server and manage its database."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import ValidationError

from failcast import __version__
from failcast.cli._app import app
from failcast.cli._client import fail
from failcast.config import Settings


def load_settings() -> Settings:
    """Settings from the environment, or a readable exit naming what is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        fail(f"refusing to start: {problems}", code=2)


def server_options(settings: Settings, host: str) -> dict[str, Any]:
    """uvicorn's options for serving `settings` on `host`, or an exit when it is unsafe.

    Only `forwarded_allow_ips` may name the client through X-Forwarded-For; uvicorn takes the
    nearest address that is not one of them, so a client cannot choose its own.
    """
    refusal = settings.refusal_to_serve(host)
    if refusal:
        fail(f"refusing to start: {refusal}", code=2)
    try:
        # Generated now (when unset) rather than by each worker process racing for it.
        settings.signing_key  # noqa: B018
    except (OSError, ValueError) as exc:
        fail(f"refusing to start: {exc}", code=2)
    return {
        "host": host,
        "log_config": None,
        "proxy_headers": True,
        "forwarded_allow_ips": ",".join(settings.forwarded_allow_ips),
        # Idle keep-alive connections are closed after this; header and body read timeouts
        # belong to the reverse proxy (deploy/nginx.conf).
        "timeout_keep_alive": 5,
        # After SIGTERM, open requests and dashboard sockets get this long before they are
        # closed; with the runner's own grace (jobs/runner.py) the process exits within 10 s.
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_SECONDS,
    }


SHUTDOWN_GRACE_SECONDS = 3

db_app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@app.command()
def version() -> None:
    """Print the Failcast version."""
    typer.echo(__version__)


@app.command()
def up(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    demo: Annotated[
        bool | None,
        typer.Option(
            "--demo/--no-demo",
            help="Prepare the demo org: simulated fleet, history, and a printed sign-in.",
        ),
    ] = None,
) -> None:
    """Start the server: API, dashboard and background work in one process."""
    import uvicorn

    from failcast.app import create_app
    from failcast.ops.logging import configure_logging

    settings = load_settings()
    given = {"host": host, "port": port, "demo": demo}
    overrides = {k: v for k, v in given.items() if v is not None}
    if "public_url" not in settings.model_fields_set:
        overrides["public_url"] = f"http://localhost:{port or settings.port}"
    settings = settings.model_copy(update=overrides)
    configure_logging(settings.log_level, settings.log_json, settings.access_log)
    options = server_options(settings, settings.host)
    typer.echo(f"Failcast {__version__} on http://{settings.host}:{settings.port}", err=True)
    uvicorn.run(create_app(settings), port=settings.port, **options)


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "heads",
) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from failcast.db.migrate import upgrade

    upgrade(load_settings(), revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")],
) -> None:
    """Revert migrations down to REVISION."""
    from failcast.db.migrate import downgrade

    downgrade(load_settings(), revision)
    typer.echo(f"database at {revision}")
