"""Service detail: health breakdown, predictions per horizon with root cause and
recommendations, the forecast of a health metric with its band, drift of an ML model, SLOs,
live metric charts with anomalies marked, and logs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.health import METRICS
from failcast.ui import charts, data
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, page_body, signed_in_page
from failcast.ui.logic import budgets, failure_risk, formatting, health_view, timeseries
from failcast.ui.theme import STATUS_COLOURS, status_colour

WINDOW_S = 3 * 3600
STEP_S = 60
# Anomaly likelihoods this high are what the anomaly_score alert rules page on.
ANOMALY_THRESHOLD = 0.99
MAX_CHARTS = 12
LOG_LIMIT = 50
SCORE_METRIC = "anomaly_score"
SCORE_METRICS = (SCORE_METRIC, "change_score")
# Forecasts and drift look hours ahead and back; refitting them every 2 s would only cost.
SLOW_EVERY_S = 30.0
HEALTH_COLUMNS = (
    ("component", "Component", "left"),
    ("weight", "Weight", "right"),
    ("metric", "Metric", "left"),
    ("value", "Value", "right"),
    ("score", "Score", "right"),
    ("status", "Status", "left"),
)
# From this probability on a failure is called likely; below it only its kind is named.
LIKELY = 0.2


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


def recommendations(
    predictions: Sequence[failure_risk.Prediction], playbooks: Mapping[str, list[str]]
) -> list[str]:
    """The playbook steps of the failure type the riskiest horizon predicts."""
    if not predictions:
        return []
    riskiest = max(predictions, key=lambda p: p.probability)
    return list(playbooks.get(riskiest.failure_type or "", []))


def register_service_page() -> None:
    @ui.page("/services/{service_id}", title="Service · Failcast")
    async def service_page(request: Request, service_id: int) -> None:
        ctx = await signed_in_page(request, "Service", "/")
        if ctx is None:
            return
        try:
            detail = await ctx.api.get(f"/api/v1/services/{service_id}")
        except ApiError as exc:
            with page_body(), card():
                empty_state("search_off", "No such service", exc.message)
            return
        ServicePage(ctx, detail).build()


class ServicePage:
    def __init__(self, ctx: PageContext, detail: dict[str, Any]) -> None:
        self.ctx = ctx
        self.detail = detail
        self.id = int(detail["id"])
        self.name = str(detail["name"])
        metrics = [m for m in detail.get("metrics") or [] if m not in SCORE_METRICS]
        self.metrics = metrics[:MAX_CHARTS]
        self.charts: dict[str, ui.echart] = {}
        self.log_signature: tuple[Any, ...] | None = None
        self.prediction_signature: tuple[Any, ...] | None = None
        self.slo_signature: tuple[Any, ...] | None = None
        self.slow_at = 0.0
        self.choices: dict[str, dict[str, Any]] = {}
        self.playbooks: dict[str, list[str]] | None = None
        self.drift: ui.column | None = None

    def build(self) -> None:
        d = self.detail
        with page_body():
            with ui.row().classes("w-full items-center gap-3"):
                ui.button(icon="arrow_back", on_click=lambda: ui.navigate.to("/")).props(
                    "flat round dense"
                )
                self.dot = ui.html('<span class="fc-dot"></span>')
                ui.label(self.name).classes("fc-title").mark("service-name")
                ui.badge(str(d.get("kind", ""))).props("outline")
                ui.label(
                    f"tier {d.get('tier') if d.get('tier') is not None else '—'} · team "
                    f"{d.get('team') or '—'} · owner {d.get('owner') or '—'}"
                ).classes("fc-muted text-sm")
            with ui.element("div").classes("fc-row3"):
                with card("Health", "mean of the last 5 min"):
                    self.score = ui.label("—").classes("fc-kpi").mark("service-score")
                    self.explain = ui.column().classes("w-full gap-1 text-xs fc-muted")
                with card("Failure predictions", "24 / 48 / 72 h"):
                    self.predictions = ui.column().classes("w-full gap-2").mark("predictions")
                with card("SLOs", "error budget left"):
                    self.slos = ui.column().classes("w-full gap-2")
            with ui.element("div").classes("fc-row2"):
                with card("Forecast", "72 h trend with 80 % band, against the critical level"):
                    self.forecast_metric = ui.select([], label="Metric").classes("w-60")
                    self.forecast_metric.on_value_change(self._forecast_now)
                    self.forecast_note = ui.label("").classes("text-sm").mark("forecast-note")
                    self.forecast_chart = ui.echart(
                        charts.metric_chart("", [], self.ctx.palette)
                    ).classes("h-56 w-full")
                if d.get("kind") == "ml_model":
                    with card("Drift", "last 6 h against the 7 days before"):
                        self.drift = ui.column().classes("w-full gap-1").mark("drift")
            if not self.metrics:
                with card("Metrics"):
                    empty_state(
                        "query_stats",
                        "No metrics for this service yet",
                        f'Send samples with `"service": "{self.name}"` to POST /api/v1/metrics;'
                        " charts appear here live.",
                    )
            with ui.element("div").classes("fc-row2"):
                for metric in self.metrics:
                    with card(metric, "3 h; red: anomalies"):
                        chart = ui.echart(charts.metric_chart(metric, [], self.ctx.palette))
                        self.charts[metric] = chart.classes("h-52 w-full")
            with card("Logs", "newest first"):
                self.logs = ui.column().classes("w-full")
        self.ctx.every(self.refresh)

    async def refresh(self) -> None:
        api = self.ctx.api
        health, scores, predictions, slos, logs, *series = await asyncio.gather(
            api.get(f"/api/v1/health/services/{self.id}"),
            data.metric(api, SCORE_METRIC, service=self.name, window_s=WINDOW_S, step_s=STEP_S,
                        agg="max"),
            data.predictions(api, self.name),
            api.get("/api/v1/slos/status", {"service": self.name}),
            api.get("/api/v1/logs", {"service": self.name, "limit": LOG_LIMIT,
                                     "start": f"{time.time() - 86400:.0f}"}),
            *(data.metric(api, m, service=self.name, window_s=WINDOW_S, step_s=STEP_S)
              for m in self.metrics),
        )  # fmt: skip
        self._health(health)
        by_metric = timeseries.points_by_label(scores, "metric")
        for metric, answer in zip(self.metrics, series, strict=True):
            points = timeseries.series_points(answer, self.name)
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
        await self._predictions(predictions)
        self._slos(slos)
        self._logs(logs.get("logs") or [])
        if time.monotonic() - self.slow_at > SLOW_EVERY_S:
            self.slow_at = time.monotonic()
            await asyncio.gather(self._forecast(), self._drift())

    def _health(self, health: dict[str, Any]) -> None:
        colour = status_colour(health["status"])
        self.dot.content = f'<span class="fc-dot" style="background:{colour}"></span>'
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
        choices = forecast_choices(health)
        if set(choices) != set(self.choices):
            self.choices = choices
            worst = health_view.worst_reason(health).split(" ")[0]
            self.forecast_metric.set_options(
                sorted(choices), value=worst if worst in choices else next(iter(choices), None)
            )

    async def _predictions(self, predictions: list[failure_risk.Prediction]) -> None:
        mine = sorted(predictions, key=lambda p: p.horizon_hours)
        now = time.time()
        ages = [failure_risk.prediction_age(p.ts, now) for p in mine]
        # The age is part of what is shown, so a minute passing redraws it.
        signature = tuple(
            (p.horizon_hours, round(p.probability, 3), p.ts, age)
            for p, age in zip(mine, ages, strict=True)
        )
        if signature == self.prediction_signature:
            return
        self.prediction_signature = signature
        if mine and self.playbooks is None:
            self.playbooks = await data.playbooks(self.ctx.api)
        self.predictions.clear()
        with self.predictions:
            if not mine:
                ui.label(
                    "No prediction for this service yet: the failure model scores every service"
                    " every 15 minutes once one is trained (see Models)."
                ).classes("fc-muted text-sm")
                return
            with ui.row().classes("gap-6"):
                for p in mine:
                    with ui.column().classes("gap-0"):
                        ui.label(f"{p.horizon_hours} h").classes("fc-label")
                        colour = STATUS_COLOURS["critical" if p.alarm else "ok"]
                        ui.label(f"{p.probability:.0%}").classes("text-xl font-bold").style(
                            f"color: {colour}"
                        ).mark(f"probability-{p.horizon_hours}")
            first = max(mine, key=lambda p: p.probability)
            age, stale = failure_risk.prediction_age(first.ts, now)
            kind = (first.failure_type or "unknown").replace("_", " ")
            # "Likely" only when a failure is: at a few percent it is the kind, if one comes.
            lead = "Likely failure" if first.probability >= LIKELY else "If it fails, most likely"
            ui.label(f"{lead}: {kind} · model v{first.model_version} · {age}").classes(
                "text-sm" + (" text-warning" if stale else "")
            ).mark("prediction-stale" if stale else "prediction-age")
            if first.root_cause:
                ui.label("Root cause").classes("fc-label mt-2")
                ui.label(first.root_cause).classes("text-sm").mark("root-cause")
            if first.factors:
                ui.label("Why").classes("fc-label mt-2")
                for factor in first.factors[:4]:
                    ui.label(f"• {factor}").classes("text-sm")
            steps = recommendations(mine, self.playbooks or {})
            if steps:
                ui.label("What to do").classes("fc-label mt-2")
                for step in steps[:5]:
                    ui.label(f"• {step}").classes("text-sm")

    def _slos(self, slos: list[dict[str, Any]]) -> None:
        signature = tuple((s["id"], budgets.burn_status(s)) for s in slos)
        if signature == self.slo_signature:
            return
        self.slo_signature = signature
        self.slos.clear()
        with self.slos:
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

    async def _forecast_now(self) -> None:
        try:
            await self._forecast()
        except ApiError as exc:
            self.ctx.report.error(exc, "Forecast")

    async def _forecast(self) -> None:
        choice = self.choices.get(self.forecast_metric.value or "")
        if choice is None:
            self.forecast_note.text = "No health metric to forecast yet."
            return
        try:
            answer = await self.ctx.api.get(
                "/api/v1/forecast",
                {"service": self.name, "metric": choice["metric"],
                 "threshold": choice["threshold"], "direction": choice["direction"]},
            )  # fmt: skip
        except ApiError as exc:
            if exc.status not in (404, 409, 422):
                raise
            self.forecast_note.text = f"No forecast: {exc.message}"
            return
        history, forecast, band = forecast_series(answer)
        breach = answer.get("breach")
        self.forecast_note.text = (
            breach["summary"]
            if breach
            else f"Not forecast to cross {choice['threshold']:g} in the next 72 h."
        )
        self.forecast_chart.options.clear()
        self.forecast_chart.options.update(
            charts.metric_chart(
                choice["metric"], history, self.ctx.palette, forecast=forecast, band=band,
                threshold=choice["threshold"],
            )
        )  # fmt: skip
        self.forecast_chart.update()

    async def _drift(self) -> None:
        if self.drift is None:
            return
        try:
            answer = await self.ctx.api.get("/api/v1/drift", {"service": self.name})
        except ApiError as exc:
            if exc.status not in (404, 409, 422):
                raise
            self.drift.clear()
            with self.drift:
                ui.label(f"No drift report: {exc.message}").classes("fc-muted text-sm")
            return
        features = answer.get("features") or []
        self.drift.clear()
        with self.drift:
            drifted = [f for f in features if f["drifted"]]
            ui.label(
                f"{len(drifted)} of {len(features)} features drifted"
                if features
                else "No features logged for this model yet (POST /api/v1/ml/predictions)."
            ).classes("text-sm font-semibold")
            if features:
                ui.table(
                    columns=[
                        {"name": k, "label": label, "field": k, "align": "left"}
                        for k, label in (("feature", "Feature"), ("psi", "PSI"), ("ks", "KS"),
                                         ("js", "Jensen-Shannon"), ("drifted", "Drifted"))
                    ],
                    rows=[
                        {"feature": f["feature"], "psi": formatting.fmt_num(f["psi"]),
                         "ks": formatting.fmt_num(f["ks"]),
                         "js": formatting.fmt_num(f["jensen_shannon"]),
                         "drifted": "yes" if f["drifted"] else "no"}
                        for f in features[:12]
                    ],
                ).props("dense flat").classes("w-full")  # fmt: skip

    def _logs(self, logs: list[dict[str, Any]]) -> None:
        signature = tuple(entry["id"] for entry in logs)
        if signature == self.log_signature:
            return
        self.log_signature = signature
        self.logs.clear()
        with self.logs:
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
