"""First run: how to send metrics (with a key made on the spot) or start the demo fleet."""

from __future__ import annotations

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, public_url
from failcast.ui.logic import onboarding


class Onboarding:
    """First run: how to send metrics (with a key made on the spot) or start the demo fleet."""

    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx

    def build(self) -> None:
        url = public_url(self.ctx)
        with card("Get started") as box:
            box.mark("onboarding")
            empty_state(
                "rocket_launch",
                "No services yet — send your first metrics",
                "Failcast creates a service the first time it receives a sample for it. Send one"
                " with curl or Python; it shows up here within two seconds.",
            )
            self.snippets = ui.column().classes("w-full items-center")
            with self.snippets:
                self._snippets(url, "<YOUR_API_KEY>")
            with ui.row().classes("w-full justify-center gap-3"):
                if self.ctx.can_admin:
                    ui.button(
                        "Create an ingest key and fill it in", icon="key",
                        on_click=lambda: self._make_key(url),
                    ).mark("make-key")  # fmt: skip
                if self.ctx.can_admin:
                    ui.button(
                        "Or start the simulated fleet", icon="play_arrow", on_click=self._simulate
                    ).props("outline").mark("start-simulator")

    def _snippets(self, url: str, key: str) -> None:
        with ui.tabs().classes("w-full max-w-[720px]") as tabs:
            curl_tab = ui.tab("curl")
            python_tab = ui.tab("Python")
        with ui.tab_panels(tabs, value=curl_tab).classes("w-full max-w-[720px] bg-transparent"):
            with ui.tab_panel(curl_tab):
                ui.code(onboarding.ingest_curl(url, key), language="bash").classes("w-full")
            with ui.tab_panel(python_tab):
                ui.code(onboarding.ingest_python(url, key), language="python").classes("w-full")

    async def _make_key(self, url: str) -> None:
        try:
            created = await self.ctx.api.post(
                "/api/v1/api-keys", {"name": "first metrics", "scopes": ["ingest", "read"]}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not create a key")
            return
        self.snippets.clear()
        with self.snippets:
            ui.label("Your key is shown once: it is in the commands below.").classes(
                "text-warning text-sm"
            )
            self._snippets(url, str(created["key"]))

    async def _simulate(self) -> None:
        try:
            await self.ctx.api.put("/api/v1/chaos/simulator", {"enabled": True})
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not start the simulator")
            return
        ui.notify("Simulated fleet started; services appear within seconds.", type="positive")
        ui.navigate.reload()
