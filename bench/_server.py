"""Start a real Failcast server process for a benchmark, and a throw-away PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
BENCH_ENV = {
    "FAILCAST_ENV": "development",
    "FAILCAST_LOG_LEVEL": "WARNING",
    "FAILCAST_ARGON2_TIME_COST": "1",
    "FAILCAST_ARGON2_MEMORY_COST": "1024",
    # Log lines reach the log file as they are written, not when a buffer fills.
    "PYTHONUNBUFFERED": "1",
}


def wait_ready(url: str, what: str, seconds: float = 60.0) -> None:
    """Return once `url` answers 200; raise when it has not within `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not become ready")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _pg(url: str, statement: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(url)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def postgres_database(admin_url: str = DEFAULT_POSTGRES) -> Iterator[str]:
    name = f"failcast_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        asyncio.run(_pg(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextmanager
def server(
    data_dir: Path, database_url: str = "", env: dict[str, str] | None = None
) -> Iterator[str]:
    """Run `failcast up` in its own process and yield its base URL once it is ready; `env`
    adds settings (`FAILCAST_*`)."""
    with server_process(data_dir, database_url, env) as (url, _pid):
        yield url


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def server_process(
    data_dir: Path, database_url: str = "", settings: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """Like `server`, yielding the process id too, to read its CPU time."""
    port = free_port()
    env = os.environ | BENCH_ENV | {"FAILCAST_DATA_DIR": str(data_dir)} | (settings or {})
    if database_url:
        env["FAILCAST_DATABASE_URL"] = database_url
    # The server's output (its log is JSON lines on stdout) goes to a file beside its data:
    # a pipe nobody reads would fill and stall the server, and the log explains a failed run.
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "failcast.cli",
                "up",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            stdout=stderr,
            stderr=stderr,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(log.read_text(errors="replace")[-5000:] or "exited")
            try:
                if httpx.get(url + "/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready")
            time.sleep(0.1)
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


def api_key(url: str, email: str = "load-test@example.com") -> str:
    with httpx.Client(base_url=url, timeout=30) as http:
        token = http.post(
            "/api/v1/register",
            json={"email": email, "password": "benchmark passphrase", "org_name": "Bench"},
        ).json()["access_token"]
        response = http.post(
            "/api/v1/api-keys",
            json={"name": "bench", "scopes": ["ingest", "read"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        key: str = response.json()["key"]
        return key
