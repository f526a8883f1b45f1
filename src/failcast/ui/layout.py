"""The frame every signed-in page shares: header, navigation, org switcher, theme toggle, and
the small building blocks (cards, empty states, error reporting) pages are made of."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import Request
from nicegui import app, ui

from failcast.ui.api import ApiClient, ApiError, app_for_scope, backend_for
from failcast.ui.live import follow
from failcast.ui.theme import CSS, Palette, status_colour

log = logging.getLogger("failcast.ui")

REFRESH_S = 2.0

NAV: list[tuple[str, str, str]] = [
    ("/", "Overview", "space_dashboard"),
    ("/topology", "Topology", "hub"),
    ("/alerts", "Alerts", "notifications_active"),
    ("/slos", "SLOs", "track_changes"),
    ("/chaos", "Chaos", "bolt"),
    ("/models", "Models", "model_training"),
    ("/reports", "Reports", "summarize"),
    ("/teams", "Teams", "groups"),
    ("/settings", "Settings", "settings"),
]


def storage() -> dict[str, Any]:
    """The signed-in browser's server-side storage."""
    store: dict[str, Any] = app.storage.user
    return store


def is_dark() -> bool:
    return bool(storage().get("theme", "dark") == "dark")


def palette() -> Palette:
    return Palette.of(is_dark())


def api_for(request: Request, token: str | None = None) -> ApiClient:
    """A client of the application that served `request`, as `token` (or the stored one)."""
    backend = backend_for(app_for_scope(request.scope))
    return backend.client(token if token is not None else storage().get("token"))


def sign_in(token: str, refresh_token: str | None = None) -> None:
    store = storage()
    store["token"] = token
    if refresh_token:
        store["refresh_token"] = refresh_token
    else:
        store.pop("refresh_token", None)


def sign_out() -> None:
    store = storage()
    for key in ("token", "refresh_token"):
        store.pop(key, None)


REFRESH_PATH = "/api/v1/token/refresh"


async def renew(api: ApiClient) -> bool:
    """Trade the stored refresh token for a new pair; False when there is none or it failed."""
    refresh_token = storage().get("refresh_token")
    if not refresh_token:
        return False
    try:
        body = await api.backend.client(None).post(REFRESH_PATH, {"refresh_token": refresh_token})
    except ApiError:
        return False
    sign_in(str(body["access_token"]), body.get("refresh_token"))
    api.token = str(body["access_token"])
    return True


def head() -> None:
    """Stylesheet and theme, once per page."""
    ui.add_css(CSS)
    ui.dark_mode(is_dark())
    ui.colors(primary="#7c6cf6", secondary="#22d3ee", accent="#f472b6", positive="#22c55e",
              negative="#ef4444", warning="#f59e0b", info="#38bdf8")  # fmt: skip


class Reporter:
    """Shows errors as notifications, once per distinct message, so a failing 2 s refresh
    does not bury the page in identical toasts."""

    def __init__(self) -> None:
        self._last: str | None = None

    def error(self, exc: Exception, what: str = "") -> None:
        text = exc.message if isinstance(exc, ApiError) else str(exc) or type(exc).__name__
        message = f"{what}: {text}" if what else text
        if message != self._last:
            self._last = message
            ui.notify(message, type="negative", multi_line=True, close_button=True)

    def ok(self) -> None:
        self._last = None


@dataclass
class PageContext:
    """What a signed-in page knows: its API client, the caller and their org."""

    api: ApiClient
    profile: dict[str, Any]
    report: Reporter = field(default_factory=Reporter)

    @property
    def org(self) -> dict[str, Any]:
        org: dict[str, Any] = self.profile["org"]
        return org

    @property
    def role(self) -> str:
        return str(self.org.get("role", "viewer"))

    @property
    def can_admin(self) -> bool:
        return self.role in ("owner", "admin")

    @property
    def can_write(self) -> bool:
        return self.role in ("owner", "admin", "member")

    @property
    def palette(self) -> Palette:
        return palette()

    def every(self, refresh: Callable[[], Awaitable[None]], seconds: float = REFRESH_S) -> None:
        """Run `refresh` now, every `seconds`, and whenever the org's live stream says
        something changed; failures are reported, never raised."""

        async def tick() -> None:
            try:
                await refresh()
                self.report.ok()
            except ApiError as exc:
                if exc.status == 401:
                    if await renew(self.api):
                        return
                    sign_out()
                    ui.navigate.to("/login?expired=1")
                    return
                self.report.error(exc)
            except Exception as exc:  # a page bug still reaches the screen, and the log
                log.exception("dashboard refresh failed")
                self.report.error(exc)

        ui.timer(seconds, tick, immediate=True)
        if "id" in self.org:
            follow(self.api, int(self.org["id"]), tick)


# How long a page may take to build before NiceGUI answers with an error page instead. Pages
# read the API while they build, and on a busy server (a burst of remote writes, a model
# training) that can take longer than NiceGUI's 3 s default; a slow page beats an error page.
PAGE_BUILD_SECONDS = 15.0


def page(path: str, title: str) -> ui.page:
    """`ui.page` with Failcast's build timeout."""
    return ui.page(path, title=title, response_timeout=PAGE_BUILD_SECONDS)


async def signed_in_page(request: Request, title: str, active: str) -> PageContext | None:
    """Check the session and draw the frame; None (after redirecting) when not signed in."""
    head()
    api = api_for(request)
    if not api.token:
        ui.navigate.to(f"/login?next={quote(active)}")
        return None
    try:
        profile = await api.get("/api/v1/profile")
    except ApiError as exc:
        if exc.status == 401 and await renew(api):
            profile = await api.get("/api/v1/profile")
        elif exc.status in (401, 403):
            sign_out()
            ui.navigate.to(f"/login?next={quote(active)}&expired=1")
            return None
        else:
            raise
    ctx = PageContext(api, profile)
    _frame(ctx, title, active)
    return ctx


def _frame(ctx: PageContext, title: str, active: str) -> None:
    with ui.header().classes("fc-header items-center px-3 py-2 gap-2 no-wrap"):
        drawer_button = ui.button(icon="menu").props("flat round dense").classes("lg:hidden")
        with ui.link(target="/").classes("no-underline flex items-center gap-2"):
            ui.icon("radar", color="primary").classes("text-2xl")
            ui.label("Failcast").classes("text-lg font-bold hidden sm:block").style(
                "color: var(--fc-text)"
            )
        ui.label(title).classes("fc-muted hidden sm:block ml-2")
        ui.space()
        _org_switcher(ctx)
        ui.button(icon="light_mode" if is_dark() else "dark_mode", on_click=_toggle_theme).props(
            "flat round dense"
        ).tooltip("Switch theme").mark("theme-toggle")
        with ui.button(icon="account_circle").props("flat round dense"), ui.menu():
            ui.item(ctx.profile["user"]["email"]).props("disable")
            ui.item("Settings", on_click=lambda: ui.navigate.to("/settings"))
            if ctx.profile["user"].get("is_superuser"):
                ui.item("Admin", on_click=lambda: ui.navigate.to("/admin"))
            ui.item("Sign out", on_click=lambda: _sign_out_now(ctx)).mark("sign-out")
    with (
        ui.left_drawer(value=None, fixed=True)
        .classes("fc-drawer p-3")
        .props("width=220 breakpoint=1024") as drawer,
        ui.column().classes("fc-nav w-full gap-1"),
    ):
        for path, label, icon in NAV:
            link = ui.link(target=path).classes("fc-active" if path == active else "")
            with link:
                ui.icon(icon).classes("text-lg")
                ui.label(label)
        if ctx.profile["user"].get("is_superuser"):
            with ui.link(target="/admin").classes("fc-active" if active == "/admin" else ""):
                ui.icon("admin_panel_settings").classes("text-lg")
                ui.label("Admin")
    drawer_button.on_click(drawer.toggle)


def _org_switcher(ctx: PageContext) -> None:
    orgs = ctx.profile.get("orgs") or [ctx.org]
    options = {o["id"]: o["name"] for o in orgs}

    async def switch(event: Any) -> None:
        org_id = event.value
        if org_id == ctx.org["id"]:
            return
        await _switch_org(ctx, int(org_id))

    ui.select(options, value=ctx.org["id"], on_change=switch).props(
        "dense outlined options-dense"
    ).classes("min-w-[110px] max-w-[200px]").mark("org-switcher")


async def _switch_org(ctx: PageContext, org_id: int) -> None:
    try:
        body = await ctx.api.post(f"/api/v1/orgs/{org_id}/switch")
    except ApiError as exc:
        ctx.report.error(exc, "Could not switch organisation")
        return
    sign_in(str(body["access_token"]), body.get("refresh_token"))
    ui.navigate.reload()


def _toggle_theme() -> None:
    storage()["theme"] = "light" if is_dark() else "dark"
    ui.navigate.reload()


async def _sign_out_now(ctx: PageContext) -> None:
    # End the server-side session too, so the tokens stop working everywhere at once.
    try:
        await ctx.api.post("/api/v1/logout")
    except ApiError as exc:
        if exc.status != 401:
            ctx.report.error(exc, "Sign-out")
    sign_out()
    ui.navigate.to("/login")


@contextmanager
def page_body() -> Iterator[None]:
    """The padded, width-limited column a page's content goes in."""
    with ui.column().classes("w-full max-w-[1400px] mx-auto p-3 sm:p-5 gap-4"):
        yield


@contextmanager
def card(title: str | None = None, subtitle: str | None = None) -> Iterator[ui.card]:
    with ui.card().classes("fc-card w-full p-4 gap-2") as element:
        if title:
            with ui.row().classes("w-full items-baseline justify-between gap-2"):
                ui.label(title).classes("fc-label")
                if subtitle:
                    ui.label(subtitle).classes("fc-muted text-xs")
        yield element


def empty_state(
    icon: str, title: str, body: str, *, code: str | None = None, marker: str | None = None
) -> ui.column:
    """What is missing and what to do next, instead of a blank panel."""
    with ui.column().classes("w-full items-center text-center gap-2 py-6") as column:
        ui.icon(icon, color="primary").classes("text-4xl opacity-80")
        ui.label(title).classes("text-base font-semibold")
        ui.markdown(body).classes("fc-muted text-sm max-w-[560px]")
        if code:
            ui.html(f'<div class="fc-code text-left w-full">{_escape(code)}</div>').classes(
                "w-full max-w-[720px]"
            )
    if marker:
        column.mark(marker)
    return column


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def status_dot(status: str) -> ui.html:
    return ui.html(f'<span class="fc-dot" style="background:{status_colour(status)}"></span>')


def kpi(label: str, value: str, hint: str = "") -> ui.label:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("fc-label")
        shown = ui.label(value).classes("fc-kpi")
        if hint:
            ui.label(hint).classes("fc-muted text-xs")
    return shown


def public_url(ctx: PageContext) -> str:
    settings = ctx.api.backend.services.settings
    return str(settings.public_url)
