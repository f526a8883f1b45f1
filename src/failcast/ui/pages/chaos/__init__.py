"""Chaos: inject a fault into the simulated fleet, watch metrics, alerts and predictions react,
and run experiments with a journal; the fleet's start, the faults, the watch and the
experiments a module each."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, page, page_body, signed_in_page
from failcast.ui.pages.chaos.experiments import Experiments, experiment_template
from failcast.ui.pages.chaos.faults import Faults
from failcast.ui.pages.chaos.simulator import HISTORY_CHOICES, SimulatorOff
from failcast.ui.pages.chaos.watch import WATCH_METRIC, Watch


def register_chaos_page() -> None:
    @page("/chaos", title="Chaos · Failcast")
    async def chaos(request: Request) -> None:
        ctx = await signed_in_page(request, "Chaos", "/chaos")
        if ctx is None:
            return
        fleet = await ctx.api.get("/api/v1/chaos/fleet")
        # Set by "Start the simulated fleet": the history being stored, in days.
        history = request.query_params.get("history", "")
        await ChaosPage(ctx, fleet, int(history) if history.isdigit() else 0).build()


class ChaosPage:
    def __init__(self, ctx: PageContext, fleet: dict[str, Any], history_days: int = 0) -> None:
        self.ctx = ctx
        self.fleet = fleet
        self.history_days = history_days
        self.services = {s["name"]: s for s in fleet.get("services") or []}
        self.faults = Faults(ctx, self.services, self.refresh)
        self.watch = Watch(ctx)
        self.experiments = Experiments(ctx)

    async def build(self) -> None:
        with page_body():
            with ui.row().classes("w-full items-center justify-between"):
                ui.label("Chaos engineering").classes("fc-title")
                self.reset_button = ui.button(
                    "Stop all faults", icon="stop_circle", on_click=self.reset
                ).props("outline color=negative")
            if not self.fleet.get("enabled"):
                self.reset_button.set_visibility(False)
                SimulatorOff(self.ctx).build()
                return
            if self.history_days in HISTORY_CHOICES and self.history_days:
                with ui.card().classes("fc-card w-full").mark("history-banner"):
                    ui.label(
                        f"Storing {HISTORY_CHOICES[self.history_days].lower()} in the"
                        " background: charts fill in within a minute, then train a failure"
                        " model on the Models page."
                    ).classes("text-sm")
            with ui.element("div").classes("fc-row2"):
                self.faults.build()
            with ui.element("div").classes("fc-row2"):
                self.watch.build()
            self.experiments.build(self._template())
        self.ctx.every(self.refresh)
        ui.timer(1.0, self.faults.tick)

    def _kind(self, target: str) -> str:
        return str(self.services.get(target, {}).get("kind", "microservice"))

    def _template(self) -> dict[str, Any]:
        """An experiment on the selected target and fault to start editing from."""
        target = self.faults.target.value or ""
        kind = self._kind(target)
        return experiment_template(
            target,
            kind,
            WATCH_METRIC.get(kind, "latency_p99_ms"),
            self.faults.kind.value or "cpu_spike",
        )

    async def reset(self) -> None:
        try:
            stopped = await self.ctx.api.post("/api/v1/chaos/reset")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not stop the faults")
            return
        await self.refresh()
        ui.notify(f"Stopped {len(stopped)} fault(s).", type="positive")

    async def refresh(self) -> None:
        self.faults.draw(await self.ctx.api.get("/api/v1/chaos/faults"))
        target = self.faults.target.value
        if target:
            await self.watch.draw(target, self._kind(target))
        await self.experiments.refresh()
