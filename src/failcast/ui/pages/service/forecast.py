"""The forecast of one of a service's health metrics, 72 h ahead with its band, against the
level at which that metric turns critical."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from nicegui import ui

from failcast.health import METRICS
from failcast.ui import charts
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card
from failcast.ui.logic import health_view


def forecast_choices(health: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The health metrics a service reports, each with the stored metric to forecast, the
    critical threshold it is judged against and which way is worse."""
    thresholds = {
        m["metric"]: m["threshold"]
        for c in health.get("components") or []
        for m in c.get("metrics") or []
    }
    out: dict[str, dict[str, Any]] = {}
    for item in health.get("inputs") or []:
        name = str(item["metric"])
        if name in thresholds and name in METRICS:
            out[name] = {
                "metric": str(item.get("source") or name),
                "threshold": float(thresholds[name]["critical"]),
                "direction": "above" if METRICS[name].worse == "higher" else "below",
            }
    return out


def forecast_series(
    answer: Mapping[str, Any],
) -> tuple[list[tuple[float, float]], list[tuple[float, float]], tuple[list[Any], list[Any]]]:
    """(history, forecast, (low, high)) of a /forecast answer as unix-second points."""

    def ts(value: Any) -> float:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()

    history = [(ts(t), float(v)) for t, v in answer.get("history") or []]
    ahead = answer.get("forecast") or []
    forecast = [(ts(p["ts"]), float(p["value"])) for p in ahead]
    low = [(ts(p["ts"]), float(p["low"])) for p in ahead]
    high = [(ts(p["ts"]), float(p["high"])) for p in ahead]
    return history, forecast, (low, high)


class ForecastCard:
    def __init__(self, ctx: PageContext, service: str) -> None:
        self.ctx = ctx
        self.service = service
        self.choices: dict[str, dict[str, Any]] = {}

    def build(self) -> None:
        with card("Forecast", "72 h trend with 80 % band, against the critical level"):
            self.metric = ui.select([], label="Metric").classes("w-60")
            self.metric.on_value_change(self._draw_now)
            self.note = ui.label("").classes("text-sm").mark("forecast-note")
            self.chart = ui.echart(charts.metric_chart("", [], self.ctx.palette)).classes(
                "h-56 w-full"
            )

    def offer(self, health: Mapping[str, Any]) -> None:
        """Offer the health metrics the service reports; the worst one is picked first."""
        choices = forecast_choices(health)
        if set(choices) != set(self.choices):
            self.choices = choices
            worst = health_view.worst_reason(health).split(" ")[0]
            self.metric.set_options(
                sorted(choices), value=worst if worst in choices else next(iter(choices), None)
            )

    async def _draw_now(self) -> None:
        try:
            await self.draw()
        except ApiError as exc:
            self.ctx.report.error(exc, "Forecast")

    async def draw(self) -> None:
        choice = self.choices.get(self.metric.value or "")
        if choice is None:
            self.note.text = "No health metric to forecast yet."
            return
        try:
            answer = await self.ctx.api.get(
                "/api/v1/forecast",
                {"service": self.service, "metric": choice["metric"],
                 "threshold": choice["threshold"], "direction": choice["direction"]},
            )  # fmt: skip
        except ApiError as exc:
            if exc.status not in (404, 409, 422):
                raise
            self.note.text = f"No forecast: {exc.message}"
            return
        history, forecast, band = forecast_series(answer)
        breach = answer.get("breach")
        self.note.text = (
            breach["summary"]
            if breach
            else f"Not forecast to cross {choice['threshold']:g} in the next 72 h."
        )
        self.chart.options.clear()
        self.chart.options.update(
            charts.metric_chart(
                choice["metric"], history, self.ctx.palette, forecast=forecast, band=band,
                threshold=choice["threshold"],
            )
        )  # fmt: skip
        self.chart.update()
