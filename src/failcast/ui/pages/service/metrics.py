"""One chart per metric of the service, over the last 3 h, with its anomalies marked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nicegui import ui

from failcast.ui import charts
from failcast.ui.layout import PageContext, card, empty_state
from failcast.ui.logic import formatting, timeseries

WINDOW_S = 3 * 3600
STEP_S = 60
# Anomaly likelihoods this high are what the anomaly_score alert rules page on.
ANOMALY_THRESHOLD = 0.99
MAX_CHARTS = 12
SCORE_METRIC = "anomaly_score"
SCORE_METRICS = (SCORE_METRIC, "change_score")


class MetricCharts:
    def __init__(self, ctx: PageContext, service: str, metrics: Sequence[str]) -> None:
        self.ctx = ctx
        self.service = service
        shown = [m for m in metrics if m not in SCORE_METRICS]
        self.metrics = shown[:MAX_CHARTS]
        self.charts: dict[str, ui.echart] = {}

    def build(self) -> None:
        if not self.metrics:
            with card("Metrics"):
                empty_state(
                    "query_stats",
                    "No metrics for this service yet",
                    f'Send samples with `"service": "{self.service}"` to POST /api/v1/metrics;'
                    " charts appear here live.",
                )
        with ui.element("div").classes("fc-row2"):
            for metric in self.metrics:
                with card(metric, "3 h; red: anomalies"):
                    chart = ui.echart(charts.metric_chart(metric, [], self.ctx.palette))
                    self.charts[metric] = chart.classes("h-52 w-full")

    def draw(self, scores: Any, series: Sequence[Any]) -> None:
        """Redraw every chart from its /metrics answer in `series` (in the order of
        `self.metrics`), marking the points that `scores` rates anomalous."""
        by_metric = timeseries.points_by_label(scores, "metric")
        for metric, answer in zip(self.metrics, series, strict=True):
            points = timeseries.series_points(answer, self.service)
            marks = timeseries.anomalies(points, by_metric.get(metric, []), ANOMALY_THRESHOLD)
            chart = self.charts[metric]
            chart.options.clear()
            unit = formatting.unit_of(metric)
            chart.options.update(
                charts.metric_chart(
                    metric,
                    points,
                    self.ctx.palette,
                    anomalies=marks,
                    unit="" if unit == "fraction" else unit,
                )
            )
            chart.update()
