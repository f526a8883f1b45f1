"""The request body limit, enforced before any parsing or authentication.

Every route accepts `max_request_body_bytes` (1 MiB); the bulk routes, marked with
`@bulk_body` (ingest, remote write, OTLP, imports), accept `max_body_bytes`. A declared
`Content-Length` above the limit is answered 413 before the application sees the request;
a body without one (chunked) is counted as it streams, and reading stops at the limit, so no
route ever buffers more than its limit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

F = TypeVar("F", bound=Callable[..., Any])

BULK_MARK = "__failcast_bulk_body__"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def bulk_body(endpoint: F) -> F:
    """Mark an endpoint as taking bulk bodies (up to `max_body_bytes`)."""
    setattr(endpoint, BULK_MARK, True)
    return endpoint


def bulk_routes(routes: Sequence[BaseRoute]) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """The path pattern and methods of every bulk route, included routers walked through."""
    found = []
    for context in iter_route_contexts(routes):
        if getattr(context.endpoint, BULK_MARK, False):
            found.append((context.path_regex, frozenset(context.methods or ())))
    return found


class BodyTooLarge(HTTPException):
    """Raised from `receive` once a streamed body passes its limit. An HTTPException, so that
    FastAPI's body parsing passes it on and the error handler answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds {limit} bytes")


class BodyLimit:
    """Plain ASGI middleware: refuses oversized bodies by header, and counts streamed ones."""

    def __init__(self, app: ASGIApp, *, default_bytes: int, bulk_bytes: int) -> None:
        self.app = app
        self.default_bytes = default_bytes
        self.bulk_bytes = bulk_bytes
        self._bulk: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def _limit(self, scope: Scope) -> int:
        method = scope["method"]
        if method not in _BODY_METHODS:
            return self.default_bytes
        if self._bulk is None:
            # Routes are all added before the first request; the bulk ones are few.
            self._bulk = bulk_routes(scope["app"].router.routes)
        path = scope["path"]
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        for pattern, methods in self._bulk:
            if method in methods and pattern.match(path):
                return self.bulk_bytes
        return self.default_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            if received > limit:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            # Raised somewhere no handler turned it into a response.
            if started:
                raise
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps(
        {"error": "PayloadTooLarge", "detail": f"request body exceeds {limit} bytes"}
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
