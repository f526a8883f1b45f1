"""A service's health score, the metrics behind it, and why it is capped or leaves some out."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.layout import card
from failcast.ui.logic import health_view
from failcast.ui.theme import status_colour

HEALTH_COLUMNS = (
    ("component", "Component", "left"),
    ("weight", "Weight", "right"),
    ("metric", "Metric", "left"),
    ("value", "Value", "right"),
    ("score", "Score", "right"),
    ("status", "Status", "left"),
)


class HealthCard:
    def build(self) -> None:
        with card("Health", "mean of the last 5 min"):
            self.score = ui.label("—").classes("fc-kpi").mark("service-score")
            self.explain = ui.column().classes("w-full gap-1 text-xs fc-muted")

    def draw(self, health: dict[str, Any]) -> None:
        colour = status_colour(health["status"])
        score = health.get("score")
        self.score.text = "—" if score is None else f"{score:.0f} · {health['status']}"
        self.score.style(f"color: {colour}")
        self.explain.clear()
        with self.explain:
            rows = health_view.health_rows(health)
            if rows:
                ui.table(
                    columns=[
                        {"name": key, "label": label, "field": key, "align": align}
                        for key, label, align in HEALTH_COLUMNS
                    ],
                    rows=rows,
                ).props("dense flat").classes("w-full").mark("health-table")
            for note in (health_view.health_cap(health), health_view.health_left_out(health)):
                if note:
                    ui.label(note)
