"""Watching a fault's target: its key metric over the last 15 minutes, and how alerting and
the failure model reacted."""

from __future__ import annotations

import asyncio
import time

from nicegui import ui

from failcast.ui import charts, data
from failcast.ui.layout import PageContext, card
from failcast.ui.logic import alerting, failure_risk, formatting, timeseries
from failcast.ui.theme import severity_colour

WATCH_WINDOW_S = 900
# The metric that shows each kind of service failing soonest.
WATCH_METRIC = {
    "microservice": "latency_p99_ms",
    "ml_model": "accuracy",
    "data_pipeline": "run_success_rate",
}


class Watch:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.rules_seen = False

    def build(self) -> None:
        with card("Watch", "the target's key metric, 15 min"):
            self.title = ui.label("").classes("text-sm").mark("watch-metric")
            self.chart = ui.echart(charts.metric_chart("", [], self.ctx.palette)).classes(
                "h-56 w-full"
            )
        with card("Reaction", "alerts and predictions for the target"):
            self.reaction = ui.column().classes("w-full gap-1").mark("reaction")

    async def draw(self, target: str, kind: str) -> None:
        """Chart the key metric of `target`, a service of `kind`, then its reaction."""
        metric = WATCH_METRIC.get(kind, "latency_p99_ms")
        answer = await data.metric(self.ctx.api, metric, service=target, window_s=WATCH_WINDOW_S)
        points = timeseries.series_points(answer, target)
        unit = formatting.unit_of(metric)
        shown = "%" if unit == "fraction" else unit
        if unit == "fraction":
            points = [(t, v * 100.0) for t, v in points]
        self.title.text = (
            f"{target}: {formatting.metric_label(metric)} ({metric}"
            + (f", {shown}" if shown else "")
            + "), last 15 min"
        )
        self.chart.options.clear()
        self.chart.options.update(
            charts.metric_chart(
                f"{target} {formatting.metric_label(metric)}",
                points,
                self.ctx.palette,
                unit=shown,
            )
        )
        self.chart.update()
        await self._reaction(target)

    async def _has_rules(self) -> bool:
        """Whether the org has an alert rule; once it has, that is not asked again."""
        if not self.rules_seen:
            self.rules_seen = bool(await self.ctx.api.get("/api/v1/alert-rules"))
        return self.rules_seen

    async def _reaction(self, target: str) -> None:
        alerts, predictions = await asyncio.gather(
            data.alerts(self.ctx.api, data.OPEN_STATES, service=target, limit=20),
            data.predictions(self.ctx.api, target),
        )
        mine = alerting.by_priority(alerts)
        # Everything is fetched before the box is cleared: a refresh that awaited in between
        # could interleave with the next one and draw its lines twice.
        no_rules = not mine and not await self._has_rules()
        self.reaction.clear()
        with self.reaction:
            if no_rules:
                ui.markdown(
                    "No alert rule exists, so no fault can raise an alert. Add the recommended"
                    " rules on the [Alerts](alerts) page."
                ).classes("text-sm").mark("no-rules")
            elif not mine:
                ui.label(
                    f"No open alert on {target} yet (rules are evaluated every minute)."
                ).classes("fc-muted text-sm")
            for alert in mine[:5]:
                with ui.row().classes("items-center gap-2"):
                    ui.html(
                        f'<span class="fc-dot" style="background:'
                        f'{severity_colour(alert.severity)}"></span>'
                    )
                    ui.label(f"{alert.title} ({alert.state})").classes("text-sm").mark(
                        "reaction-alert"
                    )
            ordered = sorted(predictions, key=lambda p: p.horizon_hours)
            text = ", ".join(
                f"{p.horizon_hours} h {formatting.fmt_probability(p.probability)}" for p in ordered
            )
            if ordered:
                age, _ = failure_risk.prediction_age(max(p.ts for p in ordered), time.time())
                text += f" ({age})"
            ui.label(f"P(failure): {text or 'no prediction yet'}").classes("text-sm").mark(
                "reaction-prediction"
            )
