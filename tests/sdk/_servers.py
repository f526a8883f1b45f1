"""A scripted HTTP server for SDK tests: answers each POST with the next status of a list."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from factories import bearer

# The tests check answers, not speed: a loaded machine may take longer than httpx's 5 s.
TIMEOUT_S = 60.0


@dataclass
class Scripted:
    url: str
    statuses: list[int]
    headers: dict[str, str] = field(default_factory=dict)
    bodies: list[Any] = field(default_factory=list)


@contextmanager
def scripted_server(
    statuses: list[int], headers: dict[str, str] | None = None
) -> Iterator[Scripted]:
    """The last status repeats once the list is used up."""
    state = Scripted("", list(statuses), headers or {})

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.bodies.append(json.loads(body))
            status = state.statuses.pop(0) if len(state.statuses) > 1 else state.statuses[0]
            self.send_response(status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            payload = json.dumps({"error": "x", "detail": f"status {status}"}).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def live_key(url: str, email: str = "sdk@example.com") -> str:
    """Register on a live server and return an ingest+read API key."""
    with httpx.Client(base_url=url, timeout=TIMEOUT_S) as http:
        registered = http.post(
            "/api/v1/register",
            json={"email": email, "password": "a long passphrase", "org_name": "SDK"},
        ).json()
        response = http.post(
            "/api/v1/api-keys",
            json={"name": "sdk", "scopes": ["ingest", "read"]},
            headers=bearer(registered["access_token"]),
        )
        key: str = response.json()["key"]
        return key


def stored(url: str, key: str, metric: str, service: str) -> list[float]:
    """Raw values of one metric of one service over the last hour."""
    with httpx.Client(base_url=url, headers=bearer(key), timeout=TIMEOUT_S) as http:
        body = http.get("/api/v1/metrics", params={"metric": metric, "service": service}).json()
    return [p[1] for s in body["series"] for p in s["points"]]
