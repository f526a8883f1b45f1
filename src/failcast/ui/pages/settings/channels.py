"""Notification channels: add one of each kind, enable, test, edit, delete, and read its
delivery log."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.logic import formatting
from failcast.ui.pages.settings.tab import Tab

# What each channel kind needs; secrets come back as ******** and are kept when saved so.
CHANNEL_FIELDS: dict[str, list[tuple[str, str]]] = {
    "slack": [("url", "Incoming webhook URL"), ("channel", "Channel (optional)")],
    "pagerduty": [("routing_key", "Routing key")],
    "email": [("host", "SMTP host"), ("port", "Port"), ("sender", "From"),
              ("to", "To (comma separated)"), ("username", "User (optional)"),
              ("password", "Password (optional)")],
    "webhook": [("url", "URL"), ("secret", "Signing secret (16+ characters)")],
    "alertmanager": [("urls", "Alertmanager URLs (comma separated)"),
                     ("bearer_token", "Bearer token (optional)")],
}  # fmt: skip


def channel_config(kind: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """A channel's config from the form: blanks left out, numbers and lists parsed."""
    config: dict[str, Any] = {}
    for key, _ in CHANNEL_FIELDS[kind]:
        value = values.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if key in ("to", "urls"):
            config[key] = [part.strip() for part in str(value).split(",") if part.strip()]
        elif key == "port":
            config[key] = int(value)
        else:
            config[key] = str(value).strip()
    return config


class ChannelsTab(Tab):
    async def draw(self) -> None:
        box = self.box
        box.clear()
        if self.admins_only("notification channels"):
            return
        channels = await self.ctx.api.get("/api/v1/channels")
        with box:
            with card("Add a channel", "Slack, PagerDuty, email or a signed webhook"):
                self._channel_form()
            with card("Channels", "routes send alerts to them by name"):
                if not channels:
                    ui.label("No channel yet: alerts are only shown in the dashboard.").classes(
                        "fc-muted text-sm"
                    ).mark("no-channels")
                for channel in channels:
                    self._channel(channel)

    def _channel_form(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            name = ui.input("Name").classes("w-44").mark("channel-name")
            kind = ui.select(list(CHANNEL_FIELDS), value="slack", label="Kind").classes("w-36")
            kind.mark("channel-kind")
        fields_box = ui.row().classes("w-full items-end gap-2")
        inputs: dict[str, ui.input] = {}

        def draw() -> None:
            fields_box.clear()
            inputs.clear()
            with fields_box:
                for key, label in CHANNEL_FIELDS[kind.value]:
                    secret = key in ("password", "secret", "routing_key")
                    inputs[key] = (
                        ui.input(label, password=secret)
                        .classes("grow min-w-[160px]")
                        .mark(f"channel-{key}")
                    )

        kind.on_value_change(draw)
        draw()

        async def add() -> None:
            try:
                config = channel_config(kind.value, {k: i.value for k, i in inputs.items()})
                await self.ctx.api.post(
                    "/api/v1/channels", {"name": name.value, "kind": kind.value, "config": config}
                )
            except ValueError as exc:
                self.ctx.report.error(exc, "Port must be a number")
                return
            except ApiError as exc:
                self.ctx.report.error(exc, "Could not add the channel")
                return
            added = name.value
            await self.draw()
            await self.redraw("routes")
            ui.notify(f"Channel {added} added. Send a test to check it.", type="positive")

        ui.button("Add channel", icon="add", on_click=add).mark("add-channel")

    def _channel(self, channel: dict[str, Any]) -> None:
        with ui.expansion().classes("w-full").mark(f"channel-{channel['name']}") as row:
            with row.add_slot("header"), ui.row().classes("w-full items-center gap-2 no-wrap"):
                ui.icon({"slack": "tag", "pagerduty": "emergency", "email": "mail"}.get(
                    channel["kind"], "webhook")).classes("fc-muted")  # fmt: skip
                ui.label(channel["name"]).classes("font-semibold")
                ui.badge(channel["kind"]).props("outline")
                ui.space()
                ui.switch(
                    value=channel["enabled"],
                    on_change=lambda e, c=channel: self._enable(c, bool(e.value)),
                ).props("dense").on("click.stop", lambda: None)
                ui.button("Send test", on_click=lambda c=channel: self._test(c)).props(
                    "flat dense"
                ).on("click.stop", lambda: None).mark(f"test-{channel['name']}")
            ui.label("Config").classes("fc-label")
            config = (
                ui.textarea(value=json.dumps(channel["config"], indent=2))
                .props("outlined autogrow")
                .classes("w-full font-mono text-xs")
            )
            with ui.row().classes("gap-2"):
                ui.button("Save config", on_click=lambda c=channel: self._save(c, config.value)
                          ).props("outline dense")  # fmt: skip
                ui.button("Delete", on_click=lambda c=channel: self._delete(c)).props(
                    "flat dense color=negative"
                )
            ui.label("Delivery log, newest first").classes("fc-label mt-2")
            deliveries = ui.column().classes("w-full").mark(f"deliveries-{channel['name']}")
            row.on_value_change(
                lambda e, c=channel, d=deliveries: self._deliveries(c, d) if e.value else None
            )

    async def _deliveries(self, channel: dict[str, Any], box: ui.column) -> None:
        try:
            rows = await self.ctx.api.get(
                f"/api/v1/channels/{channel['id']}/deliveries", {"limit": 50}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Delivery log")
            return
        box.clear()
        with box:
            if not rows:
                ui.label("Nothing sent yet.").classes("fc-muted text-sm")
                return
            ui.table(
                columns=[
                    {"name": k, "label": label, "field": k, "align": "left"}
                    for k, label in (("at", "When (UTC)"), ("event", "Event"),
                                     ("attempt", "Attempt"), ("result", "Result"),
                                     ("ms", "Time"), ("alerts", "Alerts"))
                ],
                rows=[
                    {"at": formatting.when(d["at"]), "event": d["event"], "attempt": d["attempt"],
                     "result": "delivered" if d["success"]
                     else d["error"] or "delivery failed",
                     "ms": f"{d['duration_ms']:.0f} ms",
                     "alerts": ", ".join(str(a) for a in d["alert_ids"])}
                    for d in rows
                ],
                pagination=10,
            ).props("dense flat").classes("w-full")  # fmt: skip

    async def _test(self, channel: dict[str, Any]) -> None:
        note = ui.notification(f"Sending a test to {channel['name']}…", spinner=True, timeout=None)
        try:
            result = await self.ctx.api.post(f"/api/v1/channels/{channel['id']}/test")
        except ApiError as exc:
            self.ctx.report.error(exc, "Test failed")
            return
        finally:
            note.dismiss()
        if result["delivered"]:
            ui.notify(f"Test delivered to {channel['name']}.", type="positive")
        else:
            self.ctx.report.error(
                ApiError(502, "NotDelivered", result["result"]),
                f"Test to {channel['name']} failed",
            )

    async def _enable(self, channel: dict[str, Any], enabled: bool) -> None:
        try:
            await self.ctx.api.patch(f"/api/v1/channels/{channel['id']}", {"enabled": enabled})
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not change the channel")
            return
        ui.notify(f"{channel['name']} {'enabled' if enabled else 'disabled'}.", type="positive")

    async def _save(self, channel: dict[str, Any], text: str) -> None:
        try:
            config = json.loads(text)
        except json.JSONDecodeError as exc:
            ui.notify(f"The config is not valid JSON: {exc}", type="negative")
            return
        try:
            await self.ctx.api.patch(f"/api/v1/channels/{channel['id']}", {"config": config})
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not save the config")
            return
        ui.notify("Saved.", type="positive")

    async def _delete(self, channel: dict[str, Any]) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/channels/{channel['id']}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not delete the channel")
            return
        await self.draw()
        ui.notify(f"Deleted {channel['name']}.", type="positive")
