"""Alerts: the list with filters; acknowledge, assign, comment, resolve and the timeline of
each; silences, maintenance windows and threshold alert rules, a module each."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui import data
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, page, page_body, signed_in_page
from failcast.ui.pages.alerts.alert_list import AlertList
from failcast.ui.pages.alerts.detail import show_alert
from failcast.ui.pages.alerts.maintenance import MaintenancePanel
from failcast.ui.pages.alerts.panel import Panel
from failcast.ui.pages.alerts.rules import RulesPanel
from failcast.ui.pages.alerts.silences import SilencesPanel

STATE_FILTERS: dict[str, list[str] | None] = {
    "open": list(data.OPEN_STATES),
    "firing": ["firing"],
    "pending": ["pending"],
    "acknowledged": ["acknowledged"],
    "resolved": ["resolved"],
    "all": None,
}
SEVERITIES = ["", "critical", "warning", "info"]


def register_alerts_page() -> None:
    @page("/alerts", title="Alerts · Failcast")
    async def alerts(request: Request, alert: int | None = None) -> None:
        ctx = await signed_in_page(request, "Alerts", "/alerts")
        if ctx is None:
            return
        page = AlertsPage(ctx)
        page.build()
        if alert is not None:
            await show_alert(ctx, alert)


class AlertsPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.side_signature: tuple[Any, ...] | None = None
        self.side_generation = 0
        self.silences = SilencesPanel(ctx, self.redraw_side)
        self.windows = MaintenancePanel(ctx, self.redraw_side)
        self.rules = RulesPanel(ctx, self.redraw_side)
        self.panels: tuple[Panel, ...] = (self.silences, self.windows, self.rules)

    def build(self) -> None:
        with page_body():
            ui.label("Alerts").classes("fc-title")
            with ui.row().classes("w-full gap-3 items-end"):
                self.state = ui.select(list(STATE_FILTERS), value="open", label="State").classes(
                    "w-40"
                )
                self.severity = ui.select(SEVERITIES, value="", label="Severity").classes("w-40")
                self.search = ui.input("Search title").classes("grow min-w-[180px]")
                self.service = ui.input("Service").classes("w-44")
                for element in (self.state, self.severity, self.search, self.service):
                    element.on_value_change(self._refilter)
            self.list = AlertList(self.ctx, self.refresh)
            with ui.element("div").classes("fc-row2"):
                self.silences.build()
                self.windows.build()
            self.rules.build()
        self.ctx.every(self.refresh)

    async def refresh(self) -> None:
        alerts = await data.alerts(
            self.ctx.api,
            STATE_FILTERS[self.state.value],
            service=(self.service.value or "").strip() or None,
            severity=[self.severity.value] if self.severity.value else None,
            text=(self.search.value or "").strip() or None,
            limit=200,
        )
        self.list.draw(alerts)
        await self._side()

    async def _refilter(self) -> None:
        self.list.signature = None
        try:
            await self.refresh()
        except ApiError as exc:
            self.ctx.report.error(exc, "Filter")

    async def redraw_side(self) -> None:
        await self._side(force=True)

    async def _side(self, force: bool = False) -> None:
        """Redraw the side panels when what they show changed (or when `force`d)."""
        self.side_generation += 1
        generation = self.side_generation
        answers = [await self.ctx.api.get(panel.path) for panel in self.panels]
        if generation != self.side_generation:
            # A later redraw began while these lists were read (after a change on the page,
            # say): it draws newer ones, which these must not overwrite.
            return
        signature = tuple(
            panel.signature(items) for panel, items in zip(self.panels, answers, strict=True)
        )
        if signature == self.side_signature and not force:
            return
        self.side_signature = signature
        for panel, items in zip(self.panels, answers, strict=True):
            panel.draw(items)
