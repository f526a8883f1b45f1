"""Service detail: health breakdown, predictions per horizon with root cause and
recommendations, the forecast of a health metric with its band, drift of an ML model, SLOs,
live metric charts with anomalies marked, and logs; a module each."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui import data
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, page, page_body, signed_in_page
from failcast.ui.pages.service.drift import DriftCard
from failcast.ui.pages.service.forecast import ForecastCard
from failcast.ui.pages.service.health import HealthCard
from failcast.ui.pages.service.logs import LOG_LIMIT, LogsCard
from failcast.ui.pages.service.metrics import SCORE_METRIC, STEP_S, WINDOW_S, MetricCharts
from failcast.ui.pages.service.predictions import PredictionsCard
from failcast.ui.pages.service.slos import SlosCard
from failcast.ui.theme import status_colour

# Forecasts and drift look hours ahead and back; refitting them every 2 s would only cost.
SLOW_EVERY_S = 30.0


def register_service_page() -> None:
    @page("/services/{service_id}", title="Service · Failcast")
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
        self.slow_at = 0.0
        self.health = HealthCard()
        self.predictions = PredictionsCard(ctx)
        self.slos = SlosCard()
        self.forecast = ForecastCard(ctx, self.name)
        self.drift = DriftCard(ctx, self.name) if detail.get("kind") == "ml_model" else None
        self.metrics = MetricCharts(ctx, self.name, detail.get("metrics") or [])
        self.logs = LogsCard()

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
                self.health.build()
                self.predictions.build()
                self.slos.build()
            with ui.element("div").classes("fc-row2"):
                self.forecast.build()
                if self.drift is not None:
                    self.drift.build()
            self.metrics.build()
            self.logs.build()
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
              for m in self.metrics.metrics),
        )  # fmt: skip
        self.dot.content = (
            f'<span class="fc-dot" style="background:{status_colour(health["status"])}"></span>'
        )
        self.health.draw(health)
        self.forecast.offer(health)
        self.metrics.draw(scores, series)
        await self.predictions.draw(predictions)
        self.slos.draw(slos)
        self.logs.draw(logs.get("logs") or [])
        if time.monotonic() - self.slow_at > SLOW_EVERY_S:
            self.slow_at = time.monotonic()
            await asyncio.gather(self.forecast.draw(), self._drift())

    async def _drift(self) -> None:
        if self.drift is not None:
            await self.drift.draw()
