"""The simulated fleet while it is off: what it is, and a button that starts it with some days
of history."""

from __future__ import annotations

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state

# Days of simulated history stored when the fleet starts: charts, health and training need some.
HISTORY_CHOICES = {0: "No history", 1: "1 day of history", 2: "2 days of history",
                   7: "7 days of history"}  # fmt: skip


class SimulatorOff:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def build(self) -> None:
        with card():
            empty_state(
                "science",
                "The simulated fleet is off for this organisation",
                "Start it to get a realistic fleet of services, ML models and pipelines that"
                " report metrics every two seconds; then inject faults here and watch Failcast"
                " notice.",
                marker="chaos-disabled",
            )
            with ui.row().classes("w-full justify-center items-center gap-3"):
                self.history = (
                    ui.select(HISTORY_CHOICES, value=2, label="History")
                    .classes("w-48")
                    .mark("simulator-history")
                )
                button = ui.button(
                    "Start the simulated fleet", icon="play_arrow", on_click=self.enable
                )
                button.mark("start-simulator")
                if not self.ctx.can_admin:
                    button.disable()
                    ui.label("Only an owner or admin can start it.").classes("fc-muted text-sm")

    async def enable(self) -> None:
        days = float(self.history.value or 0)
        try:
            await self.ctx.api.put(
                "/api/v1/chaos/simulator", {"enabled": True, "history_days": days}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not start the simulator")
            return
        ui.notify("Simulated fleet started.", type="positive")
        ui.navigate.to(f"/chaos?history={int(days)}" if days else "/chaos")
