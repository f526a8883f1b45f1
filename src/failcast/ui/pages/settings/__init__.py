"""Settings: the organisation and its billing, API keys, members and invitations,
notification channels with their delivery log, notification routes, health scoring, and the
signed-in user's password and sessions, a module each."""

from __future__ import annotations

from fastapi import Request
from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, page, page_body, signed_in_page
from failcast.ui.pages.settings.billing import BillingTab
from failcast.ui.pages.settings.channels import ChannelsTab
from failcast.ui.pages.settings.health import HealthTab
from failcast.ui.pages.settings.keys import KeysTab
from failcast.ui.pages.settings.members import MembersTab
from failcast.ui.pages.settings.organisation import OrganisationTab
from failcast.ui.pages.settings.routes import RoutesTab
from failcast.ui.pages.settings.security import SecurityTab
from failcast.ui.pages.settings.tab import Tab

# Each tab's label, icon and drawing, in the order they are shown and loaded.
TABS: dict[str, tuple[str, str, type[Tab]]] = {
    "organisation": ("Organisation", "apartment", OrganisationTab),
    "billing": ("Billing", "credit_card", BillingTab),
    "keys": ("API keys", "key", KeysTab),
    "members": ("Members", "group", MembersTab),
    "channels": ("Channels", "campaign", ChannelsTab),
    "routes": ("Routes", "alt_route", RoutesTab),
    "health": ("Health scoring", "tune", HealthTab),
    "security": ("Security", "shield", SecurityTab),
}


def register_settings_page() -> None:
    @page("/settings", title="Settings · Failcast")
    async def settings(request: Request, tab: str = "organisation") -> None:
        ctx = await signed_in_page(request, "Settings", "/settings")
        if ctx is None:
            return
        SettingsPage(ctx).build(tab)


class SettingsPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.tabs: dict[str, Tab] = {}

    def build(self, tab: str) -> None:
        with page_body():
            ui.label("Settings").classes("fc-title")
            with (
                ui.tabs()
                .props("inline-label outside-arrows mobile-arrows")
                .classes("w-full") as tabs
            ):
                names = {
                    key: ui.tab(key, label, icon=icon) for key, (label, icon, _) in TABS.items()
                }
            with ui.tab_panels(tabs, value=names.get(tab, names["organisation"])).classes(
                "w-full bg-transparent"
            ):
                for key, tab_element in names.items():
                    with ui.tab_panel(tab_element):
                        box = ui.column().classes("w-full gap-3")
                        self.tabs[key] = TABS[key][2](self.ctx, box, self.redraw)
        ui.timer(0.05, self.load, once=True)

    async def load(self) -> None:
        for name in self.tabs:
            await self.redraw(name)

    async def redraw(self, name: str) -> None:
        try:
            await self.tabs[name].draw()
        except ApiError as exc:
            self.ctx.report.error(exc, TABS[name][0])
