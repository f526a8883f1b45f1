"""The organisation: its name, the caller's role, and the other orgs they belong to."""

from __future__ import annotations

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.pages.settings.tab import Tab


class OrganisationTab(Tab):
    async def draw(self) -> None:
        box = self.box
        box.clear()
        org = await self.ctx.api.get("/api/v1/orgs/current")
        with box, card("Organisation"):
            for label, value in (
                ("Name", org["name"]),
                ("Slug", org["slug"]),
                ("Plan", org["plan"]),
                ("Your role", org["role"]),
                ("Signed in as", self.ctx.profile["user"]["email"]),
            ):
                with ui.row().classes("gap-4"):
                    ui.label(label).classes("fc-label w-32")
                    ui.label(str(value)).classes("text-sm").mark(f"org-{label.lower()}")
            if self.ctx.can_admin:
                with ui.row().classes("items-end gap-2"):
                    name = ui.input("Rename to", value=org["name"]).classes("w-64")

                    async def rename() -> None:
                        try:
                            await self.ctx.api.patch("/api/v1/orgs/current", {"name": name.value})
                        except ApiError as exc:
                            self.ctx.report.error(exc, "Could not rename")
                            return
                        ui.notify("Renamed.", type="positive")
                        ui.navigate.reload()

                    ui.button("Rename", on_click=rename).props("outline")
            others = [o for o in self.ctx.profile.get("orgs") or [] if o["id"] != org["id"]]
            if others:
                ui.label(
                    "You also belong to: "
                    + ", ".join(o["name"] for o in others)
                    + ". Switch with the selector in the header."
                ).classes("fc-muted text-sm")
