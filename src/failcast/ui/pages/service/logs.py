"""A service's log lines of the last 24 h, newest first."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.layout import card
from failcast.ui.logic import formatting

LOG_LIMIT = 50


class LogsCard:
    def __init__(self) -> None:
        self.signature: tuple[Any, ...] | None = None

    def build(self) -> None:
        with card("Logs", "newest first"):
            self.box = ui.column().classes("w-full")

    def draw(self, logs: list[dict[str, Any]]) -> None:
        signature = tuple(entry["id"] for entry in logs)
        if signature == self.signature:
            return
        self.signature = signature
        self.box.clear()
        with self.box:
            if not logs:
                ui.label("No log lines in the last 24 h. Send them to POST /api/v1/logs.").classes(
                    "fc-muted text-sm"
                )
                return
            ui.table(
                columns=[
                    {"name": "ts", "label": "Time (UTC)", "field": "ts", "align": "left"},
                    {"name": "level", "label": "Level", "field": "level", "align": "left"},
                    {"name": "message", "label": "Message", "field": "message", "align": "left"},
                ],
                rows=[
                    {"ts": formatting.when(e["ts"]), "level": e["level"], "message": e["message"]}
                    for e in logs
                ],
                pagination=10,
            ).props("dense flat").classes("w-full")
