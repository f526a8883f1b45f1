"""Silences: matching alerts notify nobody until the silence ends."""

from __future__ import annotations

import re
from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.logic import formatting
from failcast.ui.pages.alerts.panel import Panel

DURATIONS = ["30m", "1h", "4h", "1d"]
# A comma only separates matchers where the next one starts: `name=`, `name!=`, `name=~`...
_MATCHER_SPLIT = re.compile(r"\s*,\s*(?=[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=))")


def split_matchers(text: str) -> list[str]:
    """Alertmanager matchers typed on one line, separated by commas."""
    return [part for part in _MATCHER_SPLIT.split(text.strip()) if part]


class SilencesPanel(Panel):
    path = "/api/v1/silences"

    def build(self) -> None:
        with card("Silences", "matching alerts notify nobody until the silence ends"):
            if self.ctx.can_write:
                self._form()
            self.box = ui.column().classes("w-full gap-1").mark("silences")

    def _form(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            self.matchers = (
                ui.input("Matchers", placeholder='service="checkout", severity="warning"')
                .classes("grow min-w-[220px]")
                .mark("silence-matchers")
            )
            self.duration = ui.select(DURATIONS, value="1h", label="For").classes("w-24")
        with ui.row().classes("w-full items-end gap-2"):
            self.comment = ui.input("Why").classes("grow")
            ui.button("Silence", icon="notifications_paused", on_click=self.silence).mark("silence")

    async def silence(self) -> None:
        body = {
            "matchers": split_matchers(self.matchers.value or ""),
            "duration": self.duration.value,
            "comment": self.comment.value or "",
        }
        try:
            await self.ctx.api.post("/api/v1/silences", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not create the silence")
            return
        ui.notify("Silenced.", type="positive")
        self.matchers.value = self.comment.value = ""
        await self.changed()

    def signature(self, items: list[dict[str, Any]]) -> tuple[Any, ...]:
        return tuple((s["id"], s["status"]) for s in items)

    def draw(self, items: list[dict[str, Any]]) -> None:
        self.box.clear()
        with self.box:
            if not items:
                ui.label("No active silence.").classes("fc-muted text-sm")
            for item in items:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.icon("notifications_paused").classes("fc-muted")
                    ui.label(
                        f"{', '.join(item['matchers'])} until {formatting.when(item['ends_at'])}"
                        f" ({item['status']})"
                        + (f" — {item['comment']}" if item["comment"] else "")
                    ).classes("grow text-sm")
                    if self.ctx.can_write:
                        ui.button(
                            icon="delete", on_click=lambda i=item["id"]: self.expire(i)
                        ).props("flat round dense").tooltip("Expire now")

    async def expire(self, silence_id: int) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/silences/{silence_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not expire the silence")
            return
        ui.notify("Silence expired.", type="positive")
        await self.changed()
