"""Per-request metrics, a request id, security headers and one structured access-log line."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from failcast.errors import REQUEST_ID_SCOPE_KEY
from failcast.ops.telemetry import Telemetry

log = logging.getLogger("failcast.http")

# The dashboard (NiceGUI under /app) needs inline and evaluated script and style and its
# websocket; the API docs are served from the installed package. Everything else is
# same-origin only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self' ws: wss:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}


# The status recorded for a request whose client went away before it was answered (as nginx
# logs it): not a server error, so it does not feed Failcast's own 5xx rate.
CLIENT_CLOSED = 499

# A caller's own X-Request-ID is kept when it looks like an id; anything else (long text, line
# breaks, quotes) would travel into the logs, so it is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def request_id_of(headers: dict[bytes, bytes]) -> str:
    """The caller's request id when it is a plain token, otherwise a new one."""
    given = headers.get(b"x-request-id", b"").decode("latin-1")
    return given if _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The matched route's path template (`/api/v1/services/{service_id}`), once routed."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    mount = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(mount) if mount else "unmatched"


class RequestTelemetry:
    """Plain ASGI middleware: no extra task or body streaming per request."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = request_id_of(headers)
        scope[REQUEST_ID_SCOPE_KEY] = request_id
        started = time.perf_counter()
        status = 500
        responded = False
        gone = False

        async def watch_receive() -> Message:
            nonlocal gone
            message = await receive()
            if message["type"] == "http.disconnect":
                gone = True
            return message

        async def send_with_headers(message: Message) -> None:
            nonlocal status, responded, gone
            if message["type"] == "http.response.start":
                status = message["status"]
                response_headers = MutableHeaders(scope=message)
                response_headers["X-Request-ID"] = request_id
                for header, value in SECURITY_HEADERS.items():
                    if header not in response_headers:
                        response_headers[header] = value
            try:
                await send(message)
            except OSError:
                # The server cannot write to a client that closed its connection.
                gone = True
                raise
            if message["type"] == "http.response.start":
                responded = True

        try:
            await self.app(scope, watch_receive, send_with_headers)
        except asyncio.CancelledError:
            self._record(scope, request_id, CLIENT_CLOSED, time.perf_counter() - started)
            raise
        except Exception:
            if not gone:
                self._record(scope, request_id, status, time.perf_counter() - started)
                raise
            # A client that went away is not a server error: counted as 499, nothing to answer.
            status = status if responded else CLIENT_CLOSED
            self._record(scope, request_id, status, time.perf_counter() - started)
            return
        if gone and not responded:
            status = CLIENT_CLOSED
        self._record(scope, request_id, status, time.perf_counter() - started)

    def _record(self, scope: Scope, request_id: str, status: int, elapsed: float) -> None:
        telemetry = self.telemetry
        route = route_template(scope)
        method = scope["method"]
        telemetry.requests.labels(method, route, str(status)).inc()
        telemetry.latency.labels(method, route).observe(elapsed)
        if route in ("/api/v1/metrics", "/api/v1/logs") and status in (413, 422):
            telemetry.batches_rejected.labels(str(status)).inc()
        if not route.startswith("/_nicegui"):
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "request",
                extra={
                    "request_id": request_id,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
