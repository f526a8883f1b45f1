"""Overview: org health, failure probability, the 72 h outlook, cost, alerts, risks, the
executive summary and every service's health; the first run's guide when there is no service
yet. A module each for the parts with more than a gauge."""

from __future__ import annotations

import asyncio
import time

from fastapi import Request
from nicegui import ui

from failcast.ui import charts, data
from failcast.ui.layout import PageContext, card, page, page_body, signed_in_page
from failcast.ui.logic import health_view
from failcast.ui.pages.overview.alert_feed import AlertFeed
from failcast.ui.pages.overview.cost import CostCard
from failcast.ui.pages.overview.first_run import Onboarding
from failcast.ui.pages.overview.outlook import FailureOutlook
from failcast.ui.pages.overview.risks import TopRisks
from failcast.ui.pages.overview.services import ServiceGrid

# Cost and risk change slowly; they are fetched every fifth refresh.
SLOW_EVERY_S = 10.0


def register_overview_page() -> None:
    @page("/", title="Overview · Failcast")
    async def overview(request: Request) -> None:
        ctx = await signed_in_page(request, "Overview", "/")
        if ctx is None:
            return
        OverviewPage(ctx).build()


class OverviewPage:
    """The overview's elements and the refresh that keeps them current."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.slow_at = 0.0
        self.outlook = FailureOutlook(ctx)
        self.cost = CostCard(ctx)
        self.alerts = AlertFeed()
        self.risks = TopRisks(ctx)
        self.services = ServiceGrid()

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
                self.outlook.build_gauge()
                with card("Executive summary"):
                    self.summary = ui.label("Loading…").classes("text-sm leading-relaxed")
                    self.summary.mark("summary")
            with ui.element("div").classes("fc-row2"):
                self.outlook.build_timeline()
                self.cost.build()
            with ui.element("div").classes("fc-row2"):
                self.alerts.build()
                self.risks.build()
            self.services.build()
        self.ctx.every(self.refresh)

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
        score = health.get("score")
        self.health.options.update(
            charts.gauge(
                score, health["status"] if score is not None else "no data", self.ctx.palette
            )
        )
        self.health.update()
        self.health_note.text = str(health.get("explanation") or "")
        self.outlook.draw(predictions)
        self.summary.text = str(health.get("summary") or "")
        self.services.draw(rows, health.get("counts") or {})
        self.alerts.draw(alerts)
        if time.monotonic() - self.slow_at > SLOW_EVERY_S:
            self.slow_at = time.monotonic()
            await asyncio.gather(self.cost.draw(), self.risks.draw())
        self.updated.text = "updated " + time.strftime("%H:%M:%S")

    def _show_onboarding(self) -> None:
        if self.onboarding.default_slot.children:
            return
        self.top.set_visibility(False)
        with self.onboarding:
            Onboarding(self.ctx).build()
