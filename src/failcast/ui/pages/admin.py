"""The platform admin panel: system health, users, organisations and their plans, usage."""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, kpi, page, page_body, signed_in_page
from failcast.ui.logic import formatting

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
_STATUS = re.compile(r'status="(\d)\d\d"')


def prometheus_figures(text: str) -> dict[str, float]:
    """Headline figures from the server's own /metrics: requests, their error share and mean
    latency, and samples ingested."""
    sums: dict[str, float] = defaultdict(float)
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
        if name == "failcast_http_requests_total":
            sums["requests"] += value
            status = _STATUS.search(labels)
            if status and status.group(1) == "5":
                sums["errors"] += value
        elif name == "failcast_http_request_duration_seconds_sum":
            sums["latency_sum"] += value
        elif name == "failcast_http_request_duration_seconds_count":
            sums["latency_count"] += value
        elif name == "failcast_ingested_samples_total":
            sums["samples"] += value
    out = {"requests": sums["requests"], "samples": sums["samples"]}
    out["error_share"] = sums["errors"] / sums["requests"] if sums["requests"] else 0.0
    if sums["latency_count"]:
        out["mean_latency_ms"] = 1000.0 * sums["latency_sum"] / sums["latency_count"]
    return out


def register_admin_page() -> None:
    @page("/admin", title="Admin · Failcast")
    async def admin(request: Request) -> None:
        ctx = await signed_in_page(request, "Admin", "/admin")
        if ctx is None:
            return
        if not ctx.profile["user"].get("is_superuser"):
            with page_body(), card():
                empty_state("lock", "Platform admins only", "Ask a platform admin for access.")
            return
        AdminPage(ctx).build()


class AdminPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.plans: list[str] = []

    def build(self) -> None:
        with page_body():
            ui.label("Platform administration").classes("fc-title")
            with card("System", "readiness, the server's own metrics and totals"):
                self.system = ui.row().classes("w-full gap-8").mark("admin-system")
            with card("Users"):
                self.users_search = ui.input("Search email or name").classes("w-72")
                self.users_search.on_value_change(self.load_users)
                self.users = ui.column().classes("w-full").mark("admin-users")
            with card("Organisations", "change a plan"):
                self.orgs = ui.column().classes("w-full").mark("admin-orgs")
            with card("Usage this month"):
                self.usage = ui.column().classes("w-full").mark("admin-usage")
        self.ctx.every(self.system_refresh)
        ui.timer(0.05, self.load, once=True)

    async def load(self) -> None:
        try:
            plans = await self.ctx.api.get("/api/v1/plans")
            self.plans = [p["code"] for p in plans["plans"]]
            await asyncio.gather(self.load_users(), self.load_orgs(), self.load_usage())
        except ApiError as exc:
            self.ctx.report.error(exc, "Admin")

    async def system_refresh(self) -> None:
        api = self.ctx.api
        try:
            ready = await api.get("/ready")
        except ApiError as exc:
            ready = {"status": f"unavailable ({exc.message})"}
        stats, (text, _) = await asyncio.gather(
            api.get("/api/v1/admin/stats"), api.download("/metrics")
        )
        figures = prometheus_figures(text.decode())
        self.system.clear()
        with self.system:
            kpi("Ready", str(ready.get("status")))
            kpi("Requests served", f"{figures['requests']:,.0f}",
                f"{figures['error_share']:.2%} answered 5xx")  # fmt: skip
            kpi("Mean request time", f"{figures.get('mean_latency_ms', 0.0):.1f} ms")
            kpi("Samples ingested", f"{figures['samples']:,.0f}", "since this process started")
            kpi("Users", str(stats["users"]), f"{stats['active_users']} active")
            kpi("Organisations", str(stats["orgs"]),
                ", ".join(f"{k} {v}" for k, v in stats["orgs_by_plan"].items()))  # fmt: skip
            kpi("Services", str(stats["services"]), f"{stats['series']} series")
            kpi("Sign-ins, 24 h", str(stats["logins_last_24h"]),
                f"{stats['failed_logins_last_24h']} failed")  # fmt: skip

    async def load_users(self) -> None:
        answer = await self.ctx.api.get(
            "/api/v1/admin/users", {"q": self.users_search.value or None, "limit": 50}
        )
        self.users.clear()
        with self.users:
            for user in answer["users"]:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.label(f"{user['email']} ({user['name'] or '—'})").classes("grow text-sm")
                    ui.label(
                        f"{user['orgs']} org(s) · last sign-in"
                        f" {formatting.when(user['last_login_at'])}"
                    ).classes("fc-muted text-xs")
                    if user["is_superuser"]:
                        ui.badge("admin").props("outline")
                    action = "disable" if user["is_active"] else "enable"
                    ui.button(
                        action.capitalize(),
                        on_click=lambda u=user, a=action: self.user_action(u, a),
                    ).props(f"flat dense {'color=negative' if action == 'disable' else ''}")

    async def user_action(self, user: dict[str, Any], action: str) -> None:
        try:
            await self.ctx.api.post(f"/api/v1/admin/users/{user['id']}/{action}")
        except ApiError as exc:
            self.ctx.report.error(exc, f"Could not {action} {user['email']}")
            return
        ui.notify(f"{user['email']}: {action}d.", type="positive")
        await self.load_users()

    async def load_orgs(self) -> None:
        answer = await self.ctx.api.get("/api/v1/admin/orgs", {"limit": 100})
        self.orgs.clear()
        with self.orgs:
            for org in answer["orgs"]:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.label(f"{org['name']} ({org['slug']})").classes("grow text-sm")
                    ui.label(f"{org['members']} member(s)").classes("fc-muted text-xs")
                    plan = ui.select(
                        self.plans or [org["plan"]], value=org["plan"],
                        on_change=lambda e, o=org: self.set_plan(o, e.value),
                    )  # fmt: skip
                    plan.props("dense outlined").classes("w-40").mark(f"plan-{org['slug']}")

    async def set_plan(self, org: dict[str, Any], plan: str) -> None:
        if plan == org["plan"]:
            return
        try:
            await self.ctx.api.patch(f"/api/v1/admin/orgs/{org['id']}", {"plan": plan})
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not change the plan")
            return
        ui.notify(f"{org['name']} is now on {plan}.", type="positive")
        await asyncio.gather(self.load_orgs(), self.load_usage())

    async def load_usage(self) -> None:
        answer = await self.ctx.api.get("/api/v1/admin/usage", {"limit": 100})
        self.usage.clear()
        with self.usage:
            ui.label(f"Month {answer['month']}").classes("fc-muted text-xs")

            def of(value: int, limit: int | None) -> str:
                return f"{value:,}" + (f" / {limit:,}" if limit is not None else "")

            ui.table(
                columns=[
                    {"name": k, "label": label, "field": k, "align": "left"}
                    for k, label in (("org", "Organisation"), ("plan", "Plan"),
                                     ("status", "Status"), ("services", "Services"),
                                     ("predictions", "Predictions"), ("samples", "Samples"))
                ],
                rows=[
                    {"org": u["name"], "plan": u["plan"], "status": u["status"],
                     "services": of(u["services"], u["limits"]["max_services"]),
                     "predictions": of(u["predictions"], u["limits"]["max_predictions_per_month"]),
                     "samples": f"{u['samples']:,}"}
                    for u in answer["orgs"]
                ],
                pagination=20,
            ).props("dense flat").classes("w-full")  # fmt: skip
