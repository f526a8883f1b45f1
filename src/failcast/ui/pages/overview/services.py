"""Every service's health as a grid of cards, worst first, with the count in each status."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.layout import card, status_dot
from failcast.ui.logic import health_view
from failcast.ui.theme import status_colour

KIND_ICONS = {"microservice": "dns", "ml_model": "psychology", "data_pipeline": "account_tree"}


class ServiceGrid:
    def __init__(self) -> None:
        self.signature: tuple[Any, ...] | None = None

    def build(self) -> None:
        with card("Services", "worst first; click for detail"):
            self.counts = ui.row().classes("gap-4 text-sm")
            self.grid = ui.element("div").classes("fc-grid").mark("service-grid")

    def draw(self, rows: list[health_view.ServiceRow], counts: dict[str, int]) -> None:
        signature = tuple(
            (r.id, r.status, None if r.score is None else round(r.score), r.reason) for r in rows
        )
        if signature == self.signature:
            return
        self.signature = signature
        self.counts.clear()
        with self.counts:
            for status in ("critical", "warning", "ok", "unknown"):
                with ui.row().classes("items-center gap-1"):
                    status_dot(status)
                    ui.label(f"{counts.get(status, 0)} {status}")
        self.grid.clear()
        with self.grid:
            for row in rows:
                service_card(row)


def service_card(row: health_view.ServiceRow) -> None:
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
