"""Shared fixtures: a fresh store per test on SQLite, and again on PostgreSQL when
FAILCAST_TEST_POSTGRES_URL is set; the app; an HTTP client; and account factories."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from factories import (
    Account,
    LiveServer,
    create_api_key,
    free_port,
    make_settings,
    register,
    started,
)
from fastapi import FastAPI

from failcast.app import create_app
from failcast.config import Settings
from failcast.db.migrate import upgrade

POSTGRES_URL = os.environ.get("FAILCAST_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite", "postgres"] if POSTGRES_URL else ["sqlite"]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Server commands run through the CLI runner configure the root logger with the runner's
    stdout, which closes when the command returns; later log records must not go there."""
    root = logging.getLogger()
    access = logging.getLogger("uvicorn.access")
    saved = (root.handlers[:], root.level, access.handlers[:], access.propagate)
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    access.handlers[:], access.propagate = saved[2], saved[3]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once; each test gets a copy."""
    directory = tmp_path_factory.mktemp("template")
    upgrade(make_settings(data_dir=directory))
    return directory / "failcast.db"


def _admin_url(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


async def _pg_execute(url: str, *statements: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throw-away PostgreSQL database for this run, migrated to head."""
    name = f"failcast_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg_execute(POSTGRES_URL, f'CREATE DATABASE "{name}"'))
    url = _admin_url(POSTGRES_URL, name)
    try:
        upgrade(make_settings(database_url=url))
        yield url
    finally:
        asyncio.run(_pg_execute(POSTGRES_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# Tables whose rows the migrations seed (plans); tests must not remove them.
SEEDED_TABLES = frozenset({"plan"})


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        shutil.copy(template, tmp_path / "failcast.db")
        return make_settings(data_dir=tmp_path)
    url: str = request.getfixturevalue("postgres_database")
    import failcast.models  # noqa: F401  registers every table
    from failcast.db.base import Base

    # Every table but the reference data the migrations seed.
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in SEEDED_TABLES]
    quoted = ", ".join(f'"{name}"' for name in tables)
    asyncio.run(_pg_execute(url, f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    return make_settings(database_url=url, data_dir=tmp_path)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with started(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def account(client: httpx.AsyncClient) -> Account:
    return await register(client, "owner@example.com")


@pytest.fixture
async def api_key(client: httpx.AsyncClient, account: Account) -> str:
    return await create_api_key(client, account)


@pytest.fixture
def live_server(settings: Settings) -> Iterator[LiveServer]:
    import uvicorn

    port = free_port()
    application = create_app(settings)
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(f"http://127.0.0.1:{port}", application)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
