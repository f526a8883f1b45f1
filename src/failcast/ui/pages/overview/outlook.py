"""The failure outlook: the chance that any service fails in the next 24 h, with the riskiest
one, and every service's probability over the next 72 h."""

from __future__ import annotations

import time

from nicegui import ui

from failcast.ui import charts
from failcast.ui.layout import PageContext, card, empty_state
from failcast.ui.logic import failure_risk


class FailureOutlook:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def build_gauge(self) -> None:
        with card("Failure probability", "any service, next 24 h"):
            self.gauge = ui.echart(
                charts.probability_gauge(None, "no predictions", self.ctx.palette)
            )
            self.gauge.classes("h-48 w-full")
            self.note = ui.label("").classes("fc-muted text-xs").mark("prob-note")

    def build_timeline(self) -> None:
        with card("Predictive timeline", "P(failure) over the next 72 h"):
            self.timeline = ui.column().classes("w-full")

    def draw(self, predictions: list[failure_risk.Prediction]) -> None:
        by_service = failure_risk.probabilities_by_service(predictions)
        p = self.ctx.palette
        self.timeline.clear()
        if not by_service:
            self.gauge.options.update(charts.probability_gauge(None, "no predictions", p))
            self.gauge.update()
            self.note.text = (
                "No predictions yet: the failure model scores every service every 15 minutes"
                " once one is trained."
            )
            with self.timeline:
                empty_state(
                    "timeline",
                    "No failure predictions yet",
                    "Predictions for 24, 48 and 72 hours appear here once a model is trained"
                    " (see **Models**). Until then health and alerts still work.",
                )
            return
        org_24 = failure_risk.org_failure_probability(by_service, 24)
        self.gauge.options.update(charts.probability_gauge(org_24, "next 24 h", p))
        self.gauge.update()
        worst = max(by_service.items(), key=lambda kv: kv[1].get(24, 0.0))
        newest = max(pr.ts for pr in predictions)
        age, _ = failure_risk.prediction_age(newest, time.time())
        self.note.text = f"Riskiest: {worst[0]} ({worst[1].get(24, 0.0):.0%} in 24 h); {age}"
        with self.timeline:
            ui.echart(charts.horizon_chart(by_service, p)).classes("h-64 w-full").mark("timeline")
