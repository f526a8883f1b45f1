"""Settings: the organisation and its billing, API keys, members and invitations,
notification channels with their delivery log, notification routes, health scoring, and the
signed-in user's password and sessions."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml
from fastapi import Request
from nicegui import ui

from failcast.health import DEFAULT_WEIGHTS, METRICS
from failcast.ui import logic
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, page_body, public_url, signed_in_page

SCOPES = ["ingest", "read", "write", "admin"]
ROLES = ["viewer", "member", "admin", "owner"]
THRESHOLD_KEYS = ("healthy", "warning", "critical", "zero")
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
TABS = {
    "organisation": ("Organisation", "apartment"),
    "billing": ("Billing", "credit_card"),
    "keys": ("API keys", "key"),
    "members": ("Members", "group"),
    "channels": ("Channels", "campaign"),
    "routes": ("Routes", "alt_route"),
    "health": ("Health scoring", "tune"),
    "security": ("Security", "shield"),
}


def key_rows(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """API keys as table rows; revoked keys last."""
    rows = [
        {
            "id": k["id"],
            "name": k["name"],
            "prefix": k["prefix"] + "…",
            "scopes": ", ".join(k["scopes"]),
            "created": str(k["created_at"])[:10],
            "last_used": str(k.get("last_used_at") or "never")[:16].replace("T", " "),
            "state": "revoked" if k.get("revoked_at") else "active",
        }
        for k in keys
    ]
    return sorted(rows, key=lambda r: (r["state"] != "active", -int(r["id"])))


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


def health_document(
    current: Mapping[str, Any],
    weights: Mapping[str, float],
    thresholds: Mapping[str, Mapping[str, float]],
) -> dict[str, Any]:
    """The org's health config with new weights and thresholds; per-service overrides and the
    org aggregation are kept. Thresholds equal to the built-in ones are left out."""
    changed = {
        metric: dict(values)
        for metric, values in thresholds.items()
        if metric in METRICS
        and any(float(values[k]) != getattr(METRICS[metric].default, k) for k in THRESHOLD_KEYS)
    }
    body = {k: v for k, v in current.items() if k not in ("weights", "thresholds")}
    return body | {"weights": dict(weights), "thresholds": changed}


def threshold_unit(unit: str, upper: float) -> str:
    """What a health threshold is written in. Rates and shares are fractions (0.05 is 5%);
    `pct` metrics are already percentages."""
    if unit == "%" or (not unit and upper == 1):
        return "fraction, 0.05 = 5%"
    if unit == "pct":
        return "%"
    return unit or "value"


def register_settings_page() -> None:
    @ui.page("/settings", title="Settings · Failcast")
    async def settings(request: Request, tab: str = "organisation") -> None:
        ctx = await signed_in_page(request, "Settings", "/settings")
        if ctx is None:
            return
        SettingsPage(ctx).build(tab)


class SettingsPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.boxes: dict[str, ui.column] = {}

    def build(self, tab: str) -> None:
        with page_body():
            ui.label("Settings").classes("fc-title")
            with (
                ui.tabs()
                .props("inline-label outside-arrows mobile-arrows")
                .classes("w-full") as tabs
            ):
                names = {key: ui.tab(key, label, icon=icon) for key, (label, icon) in TABS.items()}
            with ui.tab_panels(tabs, value=names.get(tab, names["organisation"])).classes(
                "w-full bg-transparent"
            ):
                for key, tab_element in names.items():
                    with ui.tab_panel(tab_element):
                        self.boxes[key] = ui.column().classes("w-full gap-3")
        ui.timer(0.05, self.load, once=True)

    async def load(self) -> None:
        steps = {
            "organisation": self._organisation, "billing": self._billing, "keys": self._keys,
            "members": self._members, "channels": self._channels, "routes": self._routes,
            "health": self._health, "security": self._security,
        }  # fmt: skip
        for name, step in steps.items():
            try:
                await step()
            except ApiError as exc:
                self.ctx.report.error(exc, TABS[name][0])

    def _admins_only(self, box: ui.column, what: str) -> bool:
        if self.ctx.can_admin:
            return False
        with box:
            ui.label(f"Only owners and admins manage {what}.").classes("fc-muted")
        return True

    # -------------------------------------------------------------- organisation

    async def _organisation(self) -> None:
        box = self.boxes["organisation"]
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

    # -------------------------------------------------------------- billing

    async def _billing(self) -> None:
        api = self.ctx.api
        box = self.boxes["billing"]
        box.clear()
        billing = await api.get("/api/v1/billing")
        plans = (await api.get("/api/v1/plans"))["plans"]
        usage, limits = billing["usage"], billing["limits"]
        with box:
            with card("Plan", f"subscription {billing['status']}"):
                plan = billing["plan"]
                ui.label(f"{plan['name']} · {logic.fmt_money(plan['price_usd_per_month'])}/month")
                ui.label(f"Usage resets {logic.when(billing['resets_at'])[:10]}").classes(
                    "fc-muted text-xs"
                )
                if billing.get("grace_until"):
                    ui.label(
                        f"Payment failed: paid features stop {logic.when(billing['grace_until'])}"
                    ).classes("text-negative text-sm")
                if not billing.get("metered", True):
                    # Nothing is counted against a plan, so "10 of 5" or "0 predictions" would
                    # be wrong: say so and show only what is known.
                    with ui.column().classes("gap-1").mark("usage"):
                        ui.label(f"Services: {usage['services']:,}").classes("font-bold")
                        ui.label(
                            "Billing is off on this installation: no plan limit applies and"
                            " predictions and samples are not metered."
                        ).classes("fc-muted text-sm")
                    return
                with ui.row().classes("w-full gap-8").mark("usage"):
                    for label, used, limit in (
                        ("Services", usage["services"], limits["max_services"]),
                        ("Predictions this month", usage["predictions"],
                         limits["max_predictions_per_month"]),
                        ("Samples this month", usage["samples"], None),
                    ):  # fmt: skip
                        with ui.column().classes("gap-1 min-w-[160px]"):
                            ui.label(label).classes("fc-label")
                            ui.label(f"{used:,}" + (f" of {limit:,}" if limit else "")).classes(
                                "font-bold"
                            )
                            if limit:
                                ui.linear_progress(value=min(1.0, used / limit), show_value=False)
                if self.ctx.role == "owner" and billing["has_customer"]:
                    ui.button("Invoices and payment method", icon="receipt_long",
                              on_click=self._portal).props("outline")  # fmt: skip
            with card("Plans"), ui.element("div").classes("fc-grid"):
                for option in plans:
                    with ui.card().classes("fc-card p-3 gap-1"):
                        ui.label(option["name"]).classes("font-semibold")
                        ui.label(
                            "custom pricing"
                            if option["custom"]
                            else f"{logic.fmt_money(option['price_usd_per_month'])}/month"
                        ).classes("text-lg font-bold")
                        ui.label(
                            f"{option['max_services'] or 'unlimited'} services ·"
                            f" {option['max_predictions_per_month'] or 'unlimited'} predictions"
                            f" · {option['retention_days'] or 'unlimited'} days kept"
                        ).classes("fc-muted text-xs")
                        if option["code"] == plan["code"]:
                            ui.badge("current").props("outline")
                        elif self.ctx.role == "owner" and not option["custom"]:
                            ui.button(
                                f"Upgrade to {option['name']}",
                                on_click=lambda c=option["code"]: self._checkout(c),
                            ).props("dense").mark(f"upgrade-{option['code']}")

    async def _checkout(self, plan: str) -> None:
        back = public_url(self.ctx).rstrip("/") + "/app/settings?tab=billing"
        try:
            answer = await self.ctx.api.post(
                "/api/v1/billing/checkout", {"plan": plan, "success_url": back, "cancel_url": back}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Checkout")
            return
        ui.navigate.to(answer["url"])

    async def _portal(self) -> None:
        back = public_url(self.ctx).rstrip("/") + "/app/settings?tab=billing"
        try:
            answer = await self.ctx.api.post("/api/v1/billing/portal", {"return_url": back})
        except ApiError as exc:
            self.ctx.report.error(exc, "Billing portal")
            return
        ui.navigate.to(answer["url"])

    # -------------------------------------------------------------- API keys

    async def _keys(self) -> None:
        box = self.boxes["keys"]
        box.clear()
        if self._admins_only(box, "API keys"):
            return
        with box:
            with (
                card("Create a key", "for the SDK, Prometheus, OTLP or CI"),
                ui.row().classes("w-full items-end gap-3"),
            ):
                name = (
                    ui.input("Name", placeholder="checkout-prod ingest")
                    .classes("grow min-w-[200px]")
                    .mark("key-name")
                )
                scopes = ui.select(SCOPES, value=["ingest", "read"], multiple=True,
                                   label="Scopes").classes("min-w-[220px]")  # fmt: skip

                async def create() -> None:
                    try:
                        created = await self.ctx.api.post(
                            "/api/v1/api-keys", {"name": name.value, "scopes": scopes.value}
                        )
                    except ApiError as exc:
                        self.ctx.report.error(exc, "Could not create the key")
                        return
                    # Redraw the list first: the redraw clears the box the dialog lives in.
                    await self._keys()
                    with self.boxes["keys"]:
                        self._show_key(str(created["key"]))

                ui.button("Create", icon="add", on_click=create).mark("create-key")
            keys = await self.ctx.api.get("/api/v1/api-keys")
            with card("Keys"):
                if not keys:
                    ui.label("No keys yet.").classes("fc-muted text-sm").mark("no-keys")
                    return
                table = ui.table(
                    columns=[
                        {"name": c, "label": label, "field": c, "align": "left"}
                        for c, label in (
                            ("name", "Name"), ("prefix", "Key"), ("scopes", "Scopes"),
                            ("created", "Created"), ("last_used", "Last used"),
                            ("state", "State"),
                        )
                    ] + [{"name": "actions", "label": "", "field": "id"}],
                    rows=key_rows(keys),
                    row_key="id",
                ).props("dense flat").classes("w-full").mark("key-table")  # fmt: skip
                table.add_slot(
                    "body-cell-actions",
                    '<q-td :props="props"><q-btn v-if="props.row.state === \'active\'" flat dense'
                    ' color="negative" label="Revoke"'
                    " @click=\"() => $parent.$emit('revoke', props.row)\" /></q-td>",
                )
                table.on("revoke", lambda e: self._revoke(int(e.args["id"]), e.args["name"]))

    def _show_key(self, key: str) -> None:
        with ui.dialog() as dialog, ui.card().classes("fc-card p-4 gap-3 w-full max-w-xl"):
            ui.label("Your new key").classes("text-lg font-semibold")
            ui.label("Copy it now: it is shown only once.").classes("text-warning text-sm")
            ui.code(key).classes("w-full").mark("new-key")
            with ui.row().classes("w-full justify-end"):
                ui.button("Copy", icon="content_copy",
                          on_click=lambda: ui.clipboard.write(key)).props("flat")  # fmt: skip
                ui.button("Done", on_click=dialog.close)
        dialog.open()

    async def _revoke(self, key_id: int, name: str) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/api-keys/{key_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not revoke the key")
            return
        await self._keys()
        ui.notify(f"Revoked {name}; requests with it are refused from now on.", type="positive")

    # -------------------------------------------------------------- members

    async def _members(self) -> None:
        api = self.ctx.api
        box = self.boxes["members"]
        box.clear()
        members = await api.get("/api/v1/orgs/current/members")
        invitations = (
            await api.get("/api/v1/orgs/current/invitations") if self.ctx.can_admin else []
        )
        me = self.ctx.profile["user"]["id"]
        with box:
            if self.ctx.can_admin:
                with (
                    card("Invite someone", "they get an email with a link to join"),
                    ui.row().classes("w-full items-end gap-3"),
                ):
                    email = ui.input("Email").classes("grow min-w-[200px]").mark("invite-email")
                    role = ui.select(ROLES, value="member", label="Role").classes("w-32")

                    async def invite() -> None:
                        try:
                            await api.post(
                                "/api/v1/orgs/current/invitations",
                                {"email": email.value, "role": role.value},
                            )
                        except ApiError as exc:
                            self.ctx.report.error(exc, "Could not invite")
                            return
                        await self._members()
                        ui.notify(f"Invitation sent to {email.value}", type="positive")

                    ui.button("Invite", icon="send", on_click=invite).mark("invite")
            with card("Members"):
                for member in members:
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        ui.icon("person").classes("fc-muted")
                        ui.label(f"{member['name'] or member['email']}").classes("text-sm")
                        ui.label(member["email"]).classes("fc-muted text-xs grow")
                        if self.ctx.can_admin and member["user_id"] != me:
                            ui.select(
                                ROLES, value=member["role"],
                                on_change=lambda e, m=member: self._role(m, e.value),
                            ).props("dense outlined").classes("w-28")  # fmt: skip
                            ui.button(icon="person_remove",
                                      on_click=lambda m=member: self._remove(m)).props(
                                "flat round dense color=negative").tooltip("Remove")  # fmt: skip
                        else:
                            ui.badge(member["role"]).props("outline")
            if self.ctx.can_admin:
                with card("Invitations"):
                    pending = [i for i in invitations if i["status"] == "pending"]
                    if not pending:
                        ui.label("No pending invitation.").classes("fc-muted text-sm")
                    for inv in pending:
                        with ui.row().classes("w-full items-center gap-2 no-wrap"):
                            ui.icon("mail").classes("fc-muted")
                            ui.label(f"{inv['email']} as {inv['role']}").classes("grow text-sm")
                            ui.label(f"expires {logic.when(inv['expires_at'])[:10]}").classes(
                                "fc-muted text-xs"
                            )
                            ui.button(icon="cancel",
                                      on_click=lambda i=inv: self._revoke_invite(i)).props(
                                "flat round dense").tooltip("Revoke")  # fmt: skip

    async def _role(self, member: dict[str, Any], role: str) -> None:
        if role == member["role"]:
            return
        try:
            await self.ctx.api.patch(
                f"/api/v1/orgs/current/members/{member['user_id']}", {"role": role}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not change the role")
            await self._members()
            return
        await self._members()
        ui.notify(f"{member['email']} is now {role}.", type="positive")

    async def _remove(self, member: dict[str, Any]) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/orgs/current/members/{member['user_id']}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not remove the member")
            return
        await self._members()
        ui.notify(f"Removed {member['email']}.", type="positive")

    async def _revoke_invite(self, invitation: dict[str, Any]) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/orgs/current/invitations/{invitation['id']}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not revoke the invitation")
            return
        await self._members()

    # -------------------------------------------------------------- channels

    async def _channels(self) -> None:
        box = self.boxes["channels"]
        box.clear()
        if self._admins_only(box, "notification channels"):
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
            await self._channels()
            await self._routes()
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
                    {"at": logic.when(d["at"]), "event": d["event"], "attempt": d["attempt"],
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
        await self._channels()
        ui.notify(f"Deleted {channel['name']}.", type="positive")

    # -------------------------------------------------------------- routes

    async def _routes(self) -> None:
        box = self.boxes["routes"]
        box.clear()
        if self._admins_only(box, "notification routes"):
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

    # -------------------------------------------------------------- health scoring

    async def _health(self) -> None:
        box = self.boxes["health"]
        box.clear()
        current = await self.ctx.api.get("/api/v1/health/config")
        weights = {**DEFAULT_WEIGHTS, **(current.get("weights") or {})}
        saved = current.get("thresholds") or {}
        editable = self.ctx.can_write
        weight_inputs: dict[str, ui.number] = {}
        threshold_inputs: dict[str, dict[str, ui.number]] = {}
        with box:
            with (
                card("Component weights", "shared out among the components a service has"),
                ui.row().classes("w-full gap-3"),
            ):
                for component, weight in weights.items():
                    weight_inputs[component] = (
                        ui.number(component.replace("_", " "), value=weight, min=0, step=1)
                        .classes("w-36")
                        .props("" if editable else "readonly")
                    )
            with card("Thresholds", "score 100 at healthy, 70 at warning, 40 at critical, 0 at"
                      " zero"):  # fmt: skip
                for name, info in METRICS.items():
                    values = {k: getattr(info.default, k) for k in THRESHOLD_KEYS}
                    values |= {k: v for k, v in (saved.get(name) or {}).items() if v is not None}
                    with ui.row().classes("w-full items-end gap-2"):
                        ui.label(
                            f"{info.label} ({threshold_unit(info.unit, info.high)},"
                            f" worse when {info.worse})"
                        ).classes("text-sm w-full sm:w-64 shrink-0")
                        threshold_inputs[name] = {
                            k: ui.number(k, value=values[k])
                            .classes("w-24")
                            .props("dense" + ("" if editable else " readonly"))
                            for k in THRESHOLD_KEYS
                        }
            if not editable:
                return

            async def save() -> None:
                body = health_document(
                    current,
                    {k: float(i.value or 0) for k, i in weight_inputs.items()},
                    {m: {k: float(i.value or 0) for k, i in row.items()}
                     for m, row in threshold_inputs.items()},
                )  # fmt: skip
                try:
                    await self.ctx.api.put("/api/v1/health/config", body)
                except ApiError as exc:
                    self.ctx.report.error(exc, "Health config not saved")
                    return
                ui.notify("Saved: scores use it from the next refresh.", type="positive")

            ui.button("Save scoring", icon="save", on_click=save).mark("save-health")

    # -------------------------------------------------------------- security

    async def _security(self) -> None:
        api = self.ctx.api
        box = self.boxes["security"]
        box.clear()
        with box:
            with (
                card("Change password", "your other sessions end"),
                ui.row().classes("w-full items-end gap-3"),
            ):
                current = ui.input("Current password", password=True).classes("grow")
                new = ui.input("New password (12+)", password=True).classes("grow")

                async def change() -> None:
                    try:
                        await api.post(
                            "/api/v1/password/change",
                            {"current_password": current.value, "new_password": new.value},
                        )
                    except ApiError as exc:
                        self.ctx.report.error(exc, "Password not changed")
                        return
                    current.value = new.value = ""
                    ui.notify("Password changed.", type="positive")

                ui.button("Change", on_click=change)
            sessions = await api.get("/api/v1/sessions")
            with card("Sessions", "where you are signed in"):
                for s in sessions:
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        ui.icon("devices").classes("fc-muted")
                        ui.label(
                            f"{s['user_agent'] or s['ip'] or s['method']} · since"
                            f" {logic.when(s['created_at'])[:16]} · last seen"
                            f" {logic.when(s['last_seen_at'])[:16]}"
                        ).classes("grow text-sm")
                        if s["current"]:
                            ui.badge("this one").props("outline")
                        else:
                            ui.button("End", on_click=lambda i=s["id"]: self._end_session(i)).props(
                                "flat dense color=negative"
                            )

    async def _end_session(self, session_id: int) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/sessions/{session_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not end the session")
            return
        await self._security()
        ui.notify("Session ended.", type="positive")
