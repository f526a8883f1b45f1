"""Notification routes: the org's Alertmanager-style routing tree, edited as YAML."""

from __future__ import annotations

import yaml
from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.pages.settings.tab import Tab


class RoutesTab(Tab):
    async def draw(self) -> None:
        box = self.box
        box.clear()
        if self.admins_only("notification routes"):
            return
        policy = await self.ctx.api.get("/api/v1/notification-policy")
        channels = await self.ctx.api.get("/api/v1/channels")
        with box, card("Notification policy", "Alertmanager's routing tree; receivers are"
                       " channel names"):  # fmt: skip
            ui.label("Channels: " + (", ".join(c["name"] for c in channels) or "none yet")).classes(
                "fc-muted text-sm"
            )
            editor = (
                ui.textarea(value=yaml.safe_dump(policy, sort_keys=False))
                .props("outlined autogrow")
                .classes("w-full font-mono text-xs")
                .mark("policy")
            )

            async def save() -> None:
                try:
                    document = yaml.safe_load(editor.value or "")
                except yaml.YAMLError as exc:
                    ui.notify(f"Not valid YAML: {exc}", type="negative", multi_line=True)
                    return
                try:
                    saved = await self.ctx.api.put("/api/v1/notification-policy", document)
                except ApiError as exc:
                    self.ctx.report.error(exc, "Policy not saved")
                    return
                editor.value = yaml.safe_dump(saved, sort_keys=False)
                ui.notify("Policy saved.", type="positive")

            ui.button("Save policy", icon="save", on_click=save).mark("save-policy")
