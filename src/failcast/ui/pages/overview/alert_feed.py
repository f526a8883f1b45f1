"""The open alerts, most urgent first; a click opens one on the alerts page."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.layout import card, empty_state
from failcast.ui.logic import alerting
from failcast.ui.theme import severity_colour


class AlertFeed:
    def __init__(self) -> None:
        self.signature: tuple[Any, ...] | None = None

    def build(self) -> None:
        with card("Alerts", "open, by priority"):
            self.box = ui.column().classes("w-full gap-1").mark("alert-feed")

    def draw(self, alerts: list[alerting.AlertRow]) -> None:
        signature = tuple((a.id, a.state) for a in alerts)
        if signature == self.signature:
            return
        self.signature = signature
        self.box.clear()
        with self.box:
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
