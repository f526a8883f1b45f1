"""The fleet's cost per hour over the last 24 h, where it stands, and where it is heading."""

from __future__ import annotations

from nicegui import ui

from failcast.ui import charts, data
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state
from failcast.ui.logic import formatting, timeseries

COST_METRIC = "cost_usd_per_hour"
COST_WINDOW_S = 24 * 3600
COST_STEP_S = 900


def _kpi(label: str, value: str) -> ui.label:
    with ui.column().classes("gap-0"):
        ui.label(label).classes("fc-label")
        return ui.label(value).classes("text-xl font-bold")


class CostCard:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def build(self) -> None:
        with card("Cost", "fleet $ per hour, 24 h and forecast"):
            with ui.row().classes("w-full gap-8"):
                self.now = _kpi("Now", "—")
                self.month = _kpi("Month at this rate", "—")
                self.next = _kpi("In 24 h (forecast)", "—")
            self.box = ui.column().classes("w-full")

    async def draw(self) -> None:
        try:
            answer = await data.metric(
                self.ctx.api, COST_METRIC, window_s=COST_WINDOW_S, step_s=COST_STEP_S
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Cost")
            return
        history = timeseries.series_points(answer)
        forecast = timeseries.cost_forecast(history)
        self.box.clear()
        if forecast is None:
            with self.box:
                empty_state(
                    "payments",
                    "No cost data yet",
                    f"Send a `{COST_METRIC}` metric per service (the simulated fleet does); a"
                    " forecast appears after 45 minutes of data.",
                )
            return
        self.now.text = formatting.fmt_money(forecast.current_per_hour) + "/h"
        self.month.text = formatting.fmt_money(forecast.projected_month)
        self.next.text = formatting.fmt_money(forecast.forecast[-1][1]) + "/h"
        with self.box:
            ui.echart(charts.cost_chart(forecast, self.ctx.palette)).classes("h-56 w-full")
