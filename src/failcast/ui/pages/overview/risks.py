"""The top risks: the services that health, predictions and SLO burn together put above low
risk, and a word on those without any data."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state
from failcast.ui.logic import health_view
from failcast.ui.theme import severity_colour

RISK_COLOURS = {"critical": "critical", "high": "high", "medium": "warning", "low": "info"}


class TopRisks:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.signature: tuple[Any, ...] | None = None

    def build(self) -> None:
        with card("Top risks", "health, predictions and SLO burn together"):
            self.box = ui.column().classes("w-full gap-1").mark("risk-list")

    async def draw(self) -> None:
        try:
            risk = await self.ctx.api.get("/api/v1/risk")
        except ApiError as exc:
            self.ctx.report.error(exc, "Risk")
            return
        known = [r for r in risk["services"] if health_view.has_risk_evidence(r)]
        unknown = len(risk["services"]) - len(known)
        ranked = [r for r in known if r["level"] != "low"]
        signature = (unknown, *((r["service"], r["level"], len(r["signals"])) for r in ranked))
        if signature == self.signature:
            return
        self.signature = signature
        self.box.clear()
        with self.box:
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
