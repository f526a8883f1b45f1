"""Mount the NiceGUI dashboard on a Failcast FastAPI application.

NiceGUI keeps one application per process. The first mount configures it with
`ui.run_with`; later mounts (several apps in one test process) only attach the same NiceGUI
app and its lifespan. Every request carries the Failcast app that received it, so pages call
the right API even then.

The browser session is a cookie: marked `Secure` whenever the request came over https (or
the public URL is https), so it never travels in clear. NiceGUI's socket, which carries
the signed-in page's actions, accepts connections only from the dashboard's own origin (or the
configured public URL and CORS origins), so another site cannot drive a signed-in browser's
session over it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from nicegui import core, ui
from nicegui.storage import Storage
from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from failcast.config import Settings
from failcast.deps import services_of
from failcast.ui.api import SCOPE_KEY, set_default_app
from failcast.ui.pages import register_pages

MOUNT_PATH = "/app"
_PAGE_MARK = "/login"


class _RememberApp:
    """ASGI middleware that stamps each request with the Failcast app it reached."""

    def __init__(self, app: ASGIApp, target: FastAPI) -> None:
        self.app = app
        self.target = target

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            scope.setdefault(SCOPE_KEY, self.target)
        await self.app(scope, receive, send)


class _SecureCookies:
    """ASGI middleware adding `Secure` to every cookie of a response to an https request."""

    def __init__(self, app: ASGIApp, always: bool) -> None:
        self.app = app
        self.always = always

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (self.always or scope.get("scheme") == "https"):
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookies = headers.getlist("set-cookie")
                if any("secure" not in _attributes(c) for c in cookies):
                    del headers["set-cookie"]
                    for cookie in cookies:
                        secure = "secure" in _attributes(cookie)
                        headers.append("set-cookie", cookie if secure else f"{cookie}; Secure")
            await send(message)

        await self.app(scope, receive, send_secure)


def _attributes(cookie: str) -> set[str]:
    return {part.strip().split("=", 1)[0].lower() for part in cookie.split(";")[1:]}


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def socket_origin_allowed(origin: str | None, environ: dict[str, Any]) -> bool:
    """Whether NiceGUI's socket may serve a browser page from `origin`: the dashboard's own
    origin, the public URL's, or a configured CORS origin. Clients without an Origin header
    are not browsers acting for another site."""
    if not origin:
        return True
    scope: dict[str, Any] = environ.get("asgi.scope", {})
    host = environ.get("HTTP_HOST", "")
    # Either scheme of the host the socket was reached on (a TLS proxy may not say which).
    if host and origin in (f"http://{host}", f"https://{host}"):
        return True
    app = scope.get(SCOPE_KEY)
    if app is None:
        return False
    settings = services_of(app).settings
    return origin in {_origin(settings.public_url), *settings.cors_origins} - {"*"}


class _OwnScope:
    """Runs the NiceGUI app on a copy of the request scope: it stores itself as
    `scope["app"]`, which the API's middleware around it must still find as the Failcast app
    once the page has been served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(dict(scope), receive, send)


def _isolate(app: FastAPI, mount_path: str) -> None:
    for route in app.router.routes:
        if isinstance(route, Mount) and route.path == mount_path and route.app is core.app:
            route.app = _OwnScope(core.app)


def _configured() -> bool:
    return any(getattr(route, "path", None) == _PAGE_MARK for route in core.app.routes)


def mount_dashboard(app: FastAPI, settings: Settings, mount_path: str = MOUNT_PATH) -> None:
    """Serve the dashboard under `mount_path` of `app`, and send `/` there."""
    app.add_middleware(_RememberApp, target=app)
    app.add_middleware(_SecureCookies, always=settings.public_url.startswith("https://"))
    set_default_app(app)
    # NiceGUI accepts any origin on its socket; this process's dashboards accept their own.
    core.sio.eio.cors_allowed_origins = socket_origin_allowed

    async def root() -> RedirectResponse:
        return RedirectResponse(mount_path + "/")

    app.add_api_route("/", root, include_in_schema=False)
    # Browser sessions live beside the database, not in the working directory.
    Storage.path = storage_path(settings)
    if not _configured():
        register_pages()
        ui.run_with(
            app,
            mount_path=mount_path,
            storage_secret=settings.signing_key,
            title="Failcast",
            favicon=_FAVICON,
            dark=True,
            show_welcome_message=False,
            reconnect_timeout=10.0,
        )
        _isolate(app, mount_path)
        return
    _attach(app, mount_path)
    _isolate(app, mount_path)


def _attach(app: FastAPI, mount_path: str) -> None:
    # What ui.run_with does beyond configuring the (already configured) NiceGUI app.
    from nicegui.nicegui import _shutdown, _startup

    app.mount(mount_path, core.app)
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(parent: FastAPI) -> AsyncIterator[Any]:
        await _startup()
        async with inner(parent) as state:
            yield state
        await _shutdown()

    app.router.lifespan_context = lifespan


_FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24">'
    '<circle cx="12" cy="12" r="11" fill="#7c6cf6"/>'
    '<path d="M5 14l4-4 3 3 6-6" stroke="white" stroke-width="2.2" fill="none"'
    ' stroke-linecap="round" stroke-linejoin="round"/></svg>'
)


def storage_path(settings: Settings) -> Path:
    return (settings.data_dir / "dashboard").resolve()
