"""A service's SLOs with the error budget each has left."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.layout import card
from failcast.ui.logic import budgets, formatting
from failcast.ui.theme import status_colour


class SlosCard:
    def __init__(self) -> None:
        self.signature: tuple[Any, ...] | None = None

    def build(self) -> None:
        with card("SLOs", "error budget left"):
            self.box = ui.column().classes("w-full gap-2")

    def draw(self, slos: list[dict[str, Any]]) -> None:
        signature = tuple((s["id"], budgets.burn_status(s)) for s in slos)
        if signature == self.signature:
            return
        self.signature = signature
        self.box.clear()
        with self.box:
            if not slos:
                ui.label("No SLO for this service. Define one on the SLOs page.").classes(
                    "fc-muted text-sm"
                )
            for slo in slos:
                status, text = budgets.burn_status(slo)
                remaining = (slo.get("budget") or {}).get("remaining")
                with ui.row().classes("items-center gap-2 no-wrap"):
                    ui.html(
                        f'<span class="fc-dot" style="background:{status_colour(status)}"></span>'
                    )
                    ui.label(
                        f"{slo['name']} ({slo['objective']:.2%}):"
                        f" {formatting.fmt_pct(remaining, 1)} left, {text}"
                    ).classes("text-sm")
