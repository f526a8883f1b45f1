"""Faults: the form that injects one into a service of the fleet, and the active ones with
their time left counting down."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card

DURATIONS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600}


def countdown_text(left_s: float) -> str:
    """A fault's time left: `4 min 05 s left`, `42 s left`, or `ending`."""
    if left_s < 1:
        return "ending"
    minutes, seconds = divmod(int(left_s), 60)
    return f"{minutes} min {seconds:02d} s left" if minutes else f"{seconds} s left"


class Faults:
    def __init__(
        self,
        ctx: PageContext,
        services: dict[str, dict[str, Any]],
        refresh: Callable[[], Awaitable[None]],
    ) -> None:
        self.ctx = ctx
        self.services = services
        self.refresh = refresh
        self.signature: tuple[Any, ...] | None = None
        # The active faults' "time left" labels and when each fault ends (unix seconds).
        self.countdowns: list[tuple[ui.label, float]] = []

    def build(self) -> None:
        with card("Inject a fault"):
            self._form()
        with card("Active faults"):
            self.box = ui.column().classes("w-full gap-1").mark("active-faults")

    def _form(self) -> None:
        names = sorted(self.services)
        first = names[0] if names else None
        self.target = (
            ui.select(names, value=first, label="Target", with_input=True)
            .classes("w-full")
            .mark("chaos-target")
        )
        self.kind = ui.select([], label="Fault").classes("w-full").mark("chaos-fault")
        with ui.row().classes("w-full gap-3 no-wrap"):
            self.duration = (
                ui.select(list(DURATIONS), value="5m", label="Duration")
                .classes("grow")
                .mark("chaos-duration")
            )
            self.intensity = ui.number("Intensity", value=1.0, min=0.1, max=5, step=0.1).classes(
                "w-28"
            )
        self.target.on_value_change(lambda _: self._fault_options())
        self._fault_options()
        self.inject_button = (
            ui.button("Inject", icon="bolt", on_click=self.inject)
            .classes("w-full")
            .props("color=negative")
            .mark("inject")
        )
        if not self.ctx.can_write:
            self.inject_button.disable()

    def _fault_options(self) -> None:
        service = self.services.get(self.target.value or "")
        kinds = list(service["fault_kinds"]) if service else []
        self.kind.set_options(kinds, value=kinds[0] if kinds else None)

    async def inject(self) -> None:
        body = {
            "target_service": self.target.value,
            "chaos_type": self.kind.value,
            "duration": DURATIONS[self.duration.value],
            "intensity": float(self.intensity.value or 1.0),
        }
        self.inject_button.props("loading")
        try:
            fault = await self.ctx.api.post("/api/v1/chaos/inject", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Injection refused")
            return
        finally:
            self.inject_button.props(remove="loading")
        ui.notify(
            f"Injected {fault['kind']} into {fault['target']} for {fault['duration_s']:.0f} s",
            type="warning",
        )
        await self.refresh()

    async def stop(self, fault_id: int) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/chaos/faults/{fault_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not stop the fault")
            return
        await self.refresh()

    def tick(self) -> None:
        """Count the active faults' time left down every second, between refreshes."""
        now = time.time()
        for label, end in self.countdowns:
            label.text = countdown_text(max(0.0, end - now))

    def draw(self, faults: list[dict[str, Any]]) -> None:
        """List the active faults, unless the same ones are already shown."""
        signature = tuple((f["id"], f.get("stopped_at")) for f in faults)
        if signature == self.signature:
            return
        self.signature = signature
        self.box.clear()
        self.countdowns = []
        with self.box:
            if not faults:
                ui.label("No fault is acting. The fleet runs on its own noise.").classes(
                    "fc-muted text-sm"
                )
                return
            now = time.time()
            for fault in faults:
                left = max(0.0, float(fault["end"]) - now)
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.icon("bolt", color="negative")
                    ui.label(f"{fault['kind']} → {fault['target']}").classes("grow text-sm")
                    countdown = ui.label(countdown_text(left)).classes("fc-muted text-xs")
                    self.countdowns.append((countdown, float(fault["end"])))
                    fault_id = int(fault["id"])
                    ui.button(icon="stop", on_click=lambda f=fault_id: self.stop(f)).props(
                        "flat round dense"
                    ).tooltip("Stop now")
