"""Maintenance windows: a service's alerts are held while one lasts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.logic import formatting
from failcast.ui.pages.alerts.panel import Panel


class MaintenancePanel(Panel):
    path = "/api/v1/maintenance-windows"

    def build(self) -> None:
        with card("Maintenance windows", "a service's alerts are held while it lasts"):
            if self.ctx.can_write:
                self._form()
            self.box = ui.column().classes("w-full gap-1").mark("maintenance")

    def _form(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            self.service = ui.input("Service").classes("w-40").mark("window-service")
            self.hours = ui.number("Hours", value=1, min=0.25, max=168, step=0.25).classes("w-24")
            self.reason = ui.input("Reason").classes("grow")
            ui.button("Schedule", icon="build", on_click=self.schedule).mark("schedule-window")

    async def schedule(self) -> None:
        start = datetime.now(UTC)
        end = start + timedelta(hours=float(self.hours.value or 1))
        body = {
            "service": (self.service.value or "").strip(),
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
            "reason": self.reason.value or "",
        }
        try:
            await self.ctx.api.post("/api/v1/maintenance-windows", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not schedule the window")
            return
        ui.notify("Maintenance window scheduled.", type="positive")
        await self.changed()

    def signature(self, items: list[dict[str, Any]]) -> tuple[Any, ...]:
        return tuple(w["id"] for w in items)

    def draw(self, items: list[dict[str, Any]]) -> None:
        self.box.clear()
        with self.box:
            if not items:
                ui.label("No maintenance scheduled.").classes("fc-muted text-sm")
            for item in items:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.icon("build").classes("fc-muted")
                    ui.label(
                        f"{item['service']}: {formatting.when(item['starts_at'])} to"
                        f" {formatting.when(item['ends_at'])}"
                        + (f" — {item['reason']}" if item["reason"] else "")
                    ).classes("grow text-sm")
                    if self.ctx.can_write:
                        ui.button(
                            icon="delete", on_click=lambda i=item["id"]: self.end_window(i)
                        ).props("flat round dense").tooltip("Cancel")

    async def end_window(self, window_id: int) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/maintenance-windows/{window_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not cancel the window")
            return
        await self.changed()
