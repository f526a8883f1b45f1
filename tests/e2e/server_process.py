"""`failcast up` as its own process, the way a user starts it, for tests of the whole server:
its console output, its answers over real sockets, and how it stops on SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from factories import free_port

SRC = Path(__file__).resolve().parents[2] / "src"
SIGN_IN = re.compile(r"sign in as\s+(\S+) / (\S+)")


@dataclass
class ServerProcess:
    process: subprocess.Popen[bytes]
    url: str
    console: Path
    _closed: bool = field(default=False)

    def output(self) -> str:
        return self.console.read_text(errors="replace")

    def demo_sign_in(self, timeout_s: float = 60) -> tuple[str, str]:
        """The demo account's email and password, as printed on the console."""
        deadline = time.monotonic() + timeout_s
        while (found := SIGN_IN.search(self.output())) is None:
            assert self.process.poll() is None, self.output()[-3000:]
            assert time.monotonic() < deadline, "no demo sign-in printed:\n" + self.output()
            time.sleep(0.2)
        return found.group(1), found.group(2)

    def terminate(self, within_s: float = 10) -> int:
        """Send SIGTERM; the exit code, which must come within `within_s`."""
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=within_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"the server ignored SIGTERM for {within_s} s:\n{self.output()[-3000:]}"
            ) from None
        self._closed = True
        return code

    def kill(self) -> None:
        if not self._closed and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def start_server(
    workdir: Path, *args: str, env: dict[str, str] | None = None, port: int | None = None
) -> ServerProcess:
    """`failcast up ARGS` run from `workdir` (its data directory lands there), once it answers."""
    port = port or free_port()
    console = workdir / "console.log"
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith("FAILCAST_")
    }
    environment |= {"PYTHONPATH": str(SRC), "PYTHONUNBUFFERED": "1"} | (env or {})
    with console.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "failcast.cli", "up", "--port", str(port), *args],
            cwd=workdir,
            env=environment,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    server = ServerProcess(process, f"http://127.0.0.1:{port}", console)
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise AssertionError("the server exited at start:\n" + server.output()[-3000:])
        try:
            if httpx.get(server.url + "/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise AssertionError("the server did not answer in 60 s:\n" + server.output())
        time.sleep(0.2)
