"""Overview: org health, failure probability, the 72 h outlook, cost, alerts, risks, the
executive summary and every service's health."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui import charts, data
from failcast.ui.api import ApiError
from failcast.ui.layout import (
    PageContext,
    card,
    empty_state,
    page_body,
    public_url,
    signed_in_page,
    status_dot,
)
from failcast.ui.logic import (
    alerting,
    failure_risk,
    formatting,
    health_view,
    onboarding,
    timeseries,
)
from failcast.ui.theme import severity_colour, status_colour

COST_METRIC = "cost_usd_per_hour"
COST_WINDOW_S = 24 * 3600
COST_STEP_S = 900
# Cost and risk change slowly; they are fetched every fifth refresh.
SLOW_EVERY_S = 10.0
RISK_COLOURS = {"critical": "critical", "high": "high", "medium": "warning", "low": "info"}
KIND_ICONS = {"microservice": "dns", "ml_model": "psychology", "data_pipeline": "account_tree"}


def register_overview_page() -> None:
    @ui.page("/", title="Overview · Failcast")
    async def overview(request: Request) -> None:
        ctx = await signed_in_page(request, "Overview", "/")
        if ctx is None:
            return
        OverviewPage(ctx).build()


class OverviewPage:
    """The overview's elements and the refresh that keeps them current."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.services_signature: tuple[Any, ...] | None = None
        self.alerts_signature: tuple[Any, ...] | None = None
        self.slow_at = 0.0
        self.risk_signature: tuple[Any, ...] | None = None

    def build(self) -> None:
        p = self.ctx.palette
        with page_body():
            with ui.row().classes("w-full items-center justify-between"):
                ui.label(self.ctx.org["name"]).classes("fc-title").mark("org-name")
                self.updated = ui.label("").classes("fc-muted text-xs")
            self.onboarding = ui.column().classes("w-full")
            self.top = ui.column().classes("w-full gap-4 p-0")
        with self.top:
            with ui.element("div").classes("fc-row3"):
                with card("Org health", "0-100, tier-weighted"):
                    self.health = ui.echart(charts.gauge(None, "no data", p)).classes("h-48 w-full")
                    self.health_note = ui.label("").classes("fc-muted text-xs").mark("health-note")
                with card("Failure probability", "any service, next 24 h"):
                    self.prob = ui.echart(charts.probability_gauge(None, "no predictions", p))
                    self.prob.classes("h-48 w-full")
                    self.prob_note = ui.label("").classes("fc-muted text-xs").mark("prob-note")
                with card("Executive summary"):
                    self.summary = ui.label("Loading…").classes("text-sm leading-relaxed")
                    self.summary.mark("summary")
            with ui.element("div").classes("fc-row2"):
                with card("Predictive timeline", "P(failure) over the next 72 h"):
                    self.timeline_box = ui.column().classes("w-full")
                with card("Cost", "fleet $ per hour, 24 h and forecast"):
                    with ui.row().classes("w-full gap-8"):
                        self.cost_now = self._kpi("Now", "—")
                        self.cost_month = self._kpi("Month at this rate", "—")
                        self.cost_next = self._kpi("In 24 h (forecast)", "—")
                    self.cost_box = ui.column().classes("w-full")
            with ui.element("div").classes("fc-row2"):
                with card("Alerts", "open, by priority"):
                    self.alert_box = ui.column().classes("w-full gap-1").mark("alert-feed")
                with card("Top risks", "health, predictions and SLO burn together"):
                    self.risk_box = ui.column().classes("w-full gap-1").mark("risk-list")
            with card("Services", "worst first; click for detail"):
                self.counts = ui.row().classes("gap-4 text-sm")
                self.grid = ui.element("div").classes("fc-grid").mark("service-grid")
        self.ctx.every(self.refresh)

    @staticmethod
    def _kpi(label: str, value: str) -> ui.label:
        with ui.column().classes("gap-0"):
            ui.label(label).classes("fc-label")
            return ui.label(value).classes("text-xl font-bold")

    async def refresh(self) -> None:
        api = self.ctx.api
        services = await data.services(api)
        if not services:
            self._show_onboarding()
            return
        if self.onboarding.default_slot.children:
            self.onboarding.clear()
            self.top.set_visibility(True)
        health, predictions, alerts = await asyncio.gather(
            data.health(api), data.predictions(api), data.alerts(api, data.OPEN_STATES, limit=20)
        )
        rows = health_view.service_rows(health, services)
        p = self.ctx.palette
        score = health.get("score")
        self.health.options.update(
            charts.gauge(score, health["status"] if score is not None else "no data", p)
        )
        self.health.update()
        self.health_note.text = str(health.get("explanation") or "")
        self._probability(predictions, failure_risk.probabilities_by_service(predictions))
        self.summary.text = str(health.get("summary") or "")
        self._services(rows, health.get("counts") or {})
        self._alerts(alerts)
        if time.monotonic() - self.slow_at > SLOW_EVERY_S:
            self.slow_at = time.monotonic()
            await asyncio.gather(self._cost(), self._risks())
        self.updated.text = "updated " + time.strftime("%H:%M:%S")

    def _probability(
        self, predictions: list[failure_risk.Prediction], by_service: dict[str, dict[int, float]]
    ) -> None:
        p = self.ctx.palette
        self.timeline_box.clear()
        if not by_service:
            self.prob.options.update(charts.probability_gauge(None, "no predictions", p))
            self.prob.update()
            self.prob_note.text = (
                "No predictions yet: the failure model scores every service every 15 minutes"
                " once one is trained."
            )
            with self.timeline_box:
                empty_state(
                    "timeline",
                    "No failure predictions yet",
                    "Predictions for 24, 48 and 72 hours appear here once a model is trained"
                    " (see **Models**). Until then health and alerts still work.",
                )
            return
        org_24 = failure_risk.org_failure_probability(by_service, 24)
        self.prob.options.update(charts.probability_gauge(org_24, "next 24 h", p))
        self.prob.update()
        worst = max(by_service.items(), key=lambda kv: kv[1].get(24, 0.0))
        newest = max(pr.ts for pr in predictions)
        age, _ = failure_risk.prediction_age(newest, time.time())
        self.prob_note.text = f"Riskiest: {worst[0]} ({worst[1].get(24, 0.0):.0%} in 24 h); {age}"
        with self.timeline_box:
            ui.echart(charts.horizon_chart(by_service, p)).classes("h-64 w-full").mark("timeline")

    def _services(self, rows: list[health_view.ServiceRow], counts: dict[str, int]) -> None:
        signature = tuple(
            (r.id, r.status, None if r.score is None else round(r.score), r.reason) for r in rows
        )
        if signature == self.services_signature:
            return
        self.services_signature = signature
        self.counts.clear()
        with self.counts:
            for status in ("critical", "warning", "ok", "unknown"):
                with ui.row().classes("items-center gap-1"):
                    status_dot(status)
                    ui.label(f"{counts.get(status, 0)} {status}")
        self.grid.clear()
        with self.grid:
            for row in rows:
                self._service_card(row)

    @staticmethod
    def _service_card(row: health_view.ServiceRow) -> None:
        score = "—" if row.score is None else f"{row.score:.0f}"
        with (
            ui.card()
            .classes("fc-card fc-service p-3 gap-1")
            .style(f"--fc-status: {status_colour(row.status)}")
            .on("click", lambda: ui.navigate.to(f"/services/{row.id}"))
            .mark(f"service-{row.name}")
        ):
            with ui.row().classes("w-full items-center justify-between no-wrap"):
                with ui.row().classes("items-center gap-2 no-wrap min-w-0"):
                    ui.icon(KIND_ICONS.get(row.kind, "dns")).classes("fc-muted")
                    ui.label(row.name).classes("font-semibold truncate")
                ui.label(score).classes("text-lg font-bold").style(
                    f"color: {status_colour(row.status)}"
                )
            ui.label(f"tier {row.tier} · {row.team or 'no team'}").classes("fc-muted text-xs")
            ui.label(row.reason).classes("text-xs truncate")

    def _alerts(self, alerts: list[alerting.AlertRow]) -> None:
        signature = tuple((a.id, a.state) for a in alerts)
        if signature == self.alerts_signature:
            return
        self.alerts_signature = signature
        self.alert_box.clear()
        with self.alert_box:
            ordered = alerting.by_priority(alerts)
            if not ordered:
                empty_state(
                    "task_alt", "No open alerts", "All quiet. Try **Chaos** to rehearse one."
                )
                return
            for alert in ordered[:8]:
                with (
                    ui.row()
                    .classes("w-full items-center gap-2 no-wrap cursor-pointer")
                    .on("click", lambda a=alert: ui.navigate.to(f"/alerts?alert={a.id}"))
                ):
                    colour = severity_colour(alert.severity)
                    ui.html(f'<span class="fc-dot" style="background:{colour}"></span>')
                    ui.label(alert.title).classes("truncate grow text-sm")
                    ui.label(alert.service or "").classes("fc-muted text-xs")
                    ui.badge(alert.state).props("outline")

    async def _risks(self) -> None:
        try:
            risk = await self.ctx.api.get("/api/v1/risk")
        except ApiError as exc:
            self.ctx.report.error(exc, "Risk")
            return
        known = [r for r in risk["services"] if health_view.has_risk_evidence(r)]
        unknown = len(risk["services"]) - len(known)
        ranked = [r for r in known if r["level"] != "low"]
        signature = (unknown, *((r["service"], r["level"], len(r["signals"])) for r in ranked))
        if signature == self.risk_signature:
            return
        self.risk_signature = signature
        self.risk_box.clear()
        with self.risk_box:
            if not known:
                empty_state(
                    "help_outline",
                    "Unknown: no data yet",
                    f"Risk needs health metrics ({health_view.HEALTH_METRIC_HINT}) sent to"
                    " `POST /api/v1/metrics`, or a trained failure model. Until then no"
                    " service is known to be safe.",
                    marker="risk-unknown",
                )
                return
            if not ranked:
                # Not the summary again: the executive summary card already shows it.
                more = f" {unknown} more have no data yet." if unknown else ""
                empty_state(
                    "verified",
                    "Every measured service is at low risk",
                    "Health, predicted failure probabilities and SLO burn put no measured"
                    f" service above low risk.{more}",
                )
                return
            for item in ranked[:6]:
                with ui.row().classes("w-full items-start gap-2 no-wrap"):
                    colour = severity_colour(RISK_COLOURS[item["level"]])
                    ui.badge(item["level"]).style(f"background-color: {colour} !important")
                    with ui.column().classes("gap-0 min-w-0"):
                        ui.link(item["service"], f"/services/{item['id']}").classes(
                            "text-sm font-semibold"
                        )
                        for signal in item["signals"][:2]:
                            ui.label(signal["detail"]).classes("fc-muted text-xs")

    async def _cost(self) -> None:
        try:
            answer = await data.metric(
                self.ctx.api, COST_METRIC, window_s=COST_WINDOW_S, step_s=COST_STEP_S
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Cost")
            return
        history = timeseries.series_points(answer)
        forecast = timeseries.cost_forecast(history)
        self.cost_box.clear()
        if forecast is None:
            with self.cost_box:
                empty_state(
                    "payments",
                    "No cost data yet",
                    f"Send a `{COST_METRIC}` metric per service (the simulated fleet does); a"
                    " forecast appears after 45 minutes of data.",
                )
            return
        self.cost_now.text = formatting.fmt_money(forecast.current_per_hour) + "/h"
        self.cost_month.text = formatting.fmt_money(forecast.projected_month)
        self.cost_next.text = formatting.fmt_money(forecast.forecast[-1][1]) + "/h"
        with self.cost_box:
            ui.echart(charts.cost_chart(forecast, self.ctx.palette)).classes("h-56 w-full")

    def _show_onboarding(self) -> None:
        if self.onboarding.default_slot.children:
            return
        self.top.set_visibility(False)
        with self.onboarding:
            Onboarding(self.ctx).build()


class Onboarding:
    """First run: how to send metrics (with a key made on the spot) or start the demo fleet."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def build(self) -> None:
        url = public_url(self.ctx)
        with card("Get started") as box:
            box.mark("onboarding")
            empty_state(
                "rocket_launch",
                "No services yet — send your first metrics",
                "Failcast creates a service the first time it receives a sample for it. Send one"
                " with curl or Python; it shows up here within two seconds.",
            )
            self.snippets = ui.column().classes("w-full items-center")
            with self.snippets:
                self._snippets(url, "<YOUR_API_KEY>")
            with ui.row().classes("w-full justify-center gap-3"):
                if self.ctx.can_admin:
                    ui.button(
                        "Create an ingest key and fill it in", icon="key",
                        on_click=lambda: self._make_key(url),
                    ).mark("make-key")  # fmt: skip
                if self.ctx.can_admin:
                    ui.button(
                        "Or start the simulated fleet", icon="play_arrow", on_click=self._simulate
                    ).props("outline").mark("start-simulator")

    def _snippets(self, url: str, key: str) -> None:
        with ui.tabs().classes("w-full max-w-[720px]") as tabs:
            curl_tab = ui.tab("curl")
            python_tab = ui.tab("Python")
        with ui.tab_panels(tabs, value=curl_tab).classes("w-full max-w-[720px] bg-transparent"):
            with ui.tab_panel(curl_tab):
                ui.code(onboarding.ingest_curl(url, key), language="bash").classes("w-full")
            with ui.tab_panel(python_tab):
                ui.code(onboarding.ingest_python(url, key), language="python").classes("w-full")

    async def _make_key(self, url: str) -> None:
        try:
            created = await self.ctx.api.post(
                "/api/v1/api-keys", {"name": "first metrics", "scopes": ["ingest", "read"]}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not create a key")
            return
        self.snippets.clear()
        with self.snippets:
            ui.label("Your key is shown once: it is in the commands below.").classes(
                "text-warning text-sm"
            )
            self._snippets(url, str(created["key"]))

    async def _simulate(self) -> None:
        try:
            await self.ctx.api.put("/api/v1/chaos/simulator", {"enabled": True})
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not start the simulator")
            return
        ui.notify("Simulated fleet started; services appear within seconds.", type="positive")
        ui.navigate.reload()
