"""Processes of scale-out mode: `failcast api`, `failcast worker`, `failcast scheduler`."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from fastapi import FastAPI

from failcast import __version__
from failcast.cli._app import app
from failcast.cli._client import fail
from failcast.cli.server import load_settings, server_options
from failcast.config import Settings, check_proxies, split_list

# Any constant will do; it only has to be the same in every replica.
_MIGRATION_LOCK = 0x5A3D_0002


async def _migrate_locked(settings: Settings) -> None:
    """Upgrade the schema, one process at a time when replicas start together."""
    from failcast.db.migrate import upgrade_async

    if settings.is_sqlite:
        await upgrade_async(settings)
        return
    import asyncpg

    url = settings.sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        await upgrade_async(settings)
    finally:
        await connection.close()


def api_app() -> FastAPI:
    """The app one uvicorn worker serves; the parent process has already migrated."""
    from failcast.app import create_app

    return create_app(load_settings().model_copy(update={"run_migrations_on_start": False}))


@app.command()
def api(
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies trusted for X-Forwarded-For (comma-separated addresses or networks); "
            "default: FAILCAST_FORWARDED_ALLOW_IPS, else 127.0.0.1."
        ),
    ] = None,
) -> None:
    """Serve the API and dashboard without background work (scale-out mode needs Redis)."""
    import uvicorn

    from failcast.ops.logging import configure_logging

    settings = load_settings()
    if forwarded_allow_ips is not None:
        try:
            proxies = check_proxies(split_list(forwarded_allow_ips))
        except ValueError as exc:
            fail(f"--forwarded-allow-ips: {exc}", code=2)
        settings = settings.model_copy(update={"forwarded_allow_ips": proxies})
    if not settings.scale_out:
        typer.echo("failcast api needs FAILCAST_REDIS_URL; use `failcast up` alone", err=True)
        raise typer.Exit(2)
    bind_host = host or settings.host
    bind_port = port or settings.port
    options = server_options(settings, bind_host)
    configure_logging(settings.log_level, settings.log_json, settings.access_log)
    if settings.run_migrations_on_start:
        asyncio.run(_migrate_locked(settings))
    typer.echo(f"Failcast {__version__} API on http://{bind_host}:{bind_port}", err=True)
    uvicorn.run(
        "failcast.cli.scaleout:api_app", factory=True, port=bind_port, workers=workers, **options
    )


@app.command()
def worker(
    schedule: Annotated[
        bool, typer.Option(help="Also compete for the scheduler lease (no separate scheduler).")
    ] = False,
    burst: Annotated[bool, typer.Option(help="Exit once the queue is empty.")] = False,
) -> None:
    """Run queued and scheduled tasks until SIGTERM."""
    from failcast.jobs.worker import run_worker
    from failcast.ops.logging import configure_logging
    from failcast.services import build_services

    settings = load_settings()
    if not settings.scale_out:
        typer.echo("failcast worker needs FAILCAST_REDIS_URL", err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_json, settings.access_log)
    asyncio.run(run_worker(settings, build_services, schedule=schedule, burst=burst))


@app.command()
def scheduler() -> None:
    """Enqueue periodic jobs, one slot at a time, while holding the leader lease."""
    from failcast.jobs.worker import run_scheduler
    from failcast.ops.logging import configure_logging
    from failcast.services import build_services

    settings = load_settings()
    if not settings.scale_out:
        typer.echo("failcast scheduler needs FAILCAST_REDIS_URL", err=True)
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_json, settings.access_log)
    asyncio.run(run_scheduler(settings, build_services))
