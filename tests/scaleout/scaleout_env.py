"""Redis for the scale-out tests: FAILCAST_TEST_REDIS_URL, on DB 15, flushed per test, with a
key and channel prefix of its own. Test modules import these fixtures by name."""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Iterator

import asyncpg
import pytest
import redis

REDIS_URL = os.environ.get("FAILCAST_TEST_REDIS_URL", "")
# A database number nobody else uses, flushed at the start of each test.
REDIS_DB = 15


def redis_db_url(url: str, db: int = REDIS_DB) -> str:
    base = url.rstrip("/")
    scheme, _, rest = base.partition("://")
    host = rest.split("/", 1)[0]
    return f"{scheme}://{host}/{db}"


@pytest.fixture
def redis_url() -> Iterator[str]:
    if not REDIS_URL:
        pytest.skip("FAILCAST_TEST_REDIS_URL is not set (a Redis server for scale-out tests)")
    url = redis_db_url(REDIS_URL)
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    yield url


@pytest.fixture
def redis_prefix() -> str:
    # Pub/sub channels are shared by every database number: a unique prefix isolates them.
    return f"fctest{uuid.uuid4().hex[:8]}:"


POSTGRES_URL = os.environ.get("FAILCAST_TEST_POSTGRES_URL", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _pg(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """An empty PostgreSQL database of its own (plain `postgresql://` URL), dropped after."""
    if not POSTGRES_URL:
        pytest.skip("FAILCAST_TEST_POSTGRES_URL is not set (a PostgreSQL server)")
    admin = POSTGRES_URL.replace("postgresql+asyncpg://", "postgresql://")
    name = f"failcast_scaleout_{uuid.uuid4().hex[:10]}"
    asyncio.run(_pg(admin, f'CREATE DATABASE "{name}"'))
    try:
        yield admin.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_pg(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
