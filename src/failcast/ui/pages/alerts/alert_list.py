"""The alert list: one card an alert, most urgent first, with what may be done to each
(acknowledge, assign, comment, resolve) and its timeline a click away."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state
from failcast.ui.logic import alerting, formatting
from failcast.ui.pages.alerts.detail import condition_text, show_alert
from failcast.ui.theme import severity_colour

# The list stops at this many alerts; the filters narrow it.
SHOWN = 100


class AlertList:
    def __init__(self, ctx: PageContext, refresh: Callable[[], Awaitable[None]]) -> None:
        self.ctx = ctx
        self.refresh = refresh
        self.signature: tuple[Any, ...] | None = None
        self.box = ui.column().classes("w-full gap-2").mark("alert-list")

    def draw(self, alerts: list[alerting.AlertRow]) -> None:
        """List `alerts` by priority, unless the same alerts are already shown as they are."""
        shown = alerting.by_priority(alerts)
        signature = tuple((a.id, a.state, a.assignee) for a in shown)
        if signature == self.signature:
            return
        self.signature = signature
        self.box.clear()
        with self.box:
            if not shown:
                with card():
                    empty_state(
                        "task_alt",
                        "No alerts match",
                        "Alerts appear when a rule fires. Add a rule below, then inject a fault"
                        " on the **Chaos** page to see one end to end.",
                    )
                return
            for alert in shown[:SHOWN]:
                self._row(alert)

    def _row(self, alert: alerting.AlertRow) -> None:
        raw = alert.raw
        with (
            ui.card()
            .classes("fc-card w-full p-3 gap-1")
            .style(f"border-left: 4px solid {severity_colour(alert.severity)}")
            .mark(f"alert-{alert.id}")
        ):
            with ui.row().classes("w-full items-center gap-2"):
                ui.label(alert.title).classes("font-semibold grow")
                if raw.get("flapping"):
                    ui.badge("flapping", color="warning").props("outline")
                if raw.get("suppressed_by"):
                    ui.badge(f"held: {raw['suppressed_by']}").props("outline")
                ui.badge(alert.severity).style(
                    f"background-color: {severity_colour(alert.severity)} !important"
                )
                ui.badge(alert.state).props("outline")
            value = raw.get("value")
            ui.label(
                f"{alert.service or 'no service'} · since {formatting.when(alert.started_at)} UTC"
                + (f" · value {value:.4g}" if isinstance(value, int | float) else "")
                + f" · {('assigned to ' + alert.assignee) if alert.assignee else 'unassigned'}"
            ).classes("fc-muted text-xs")
            condition = condition_text(raw.get("context") or {})
            if condition:
                ui.label(condition).classes("text-sm")
            with ui.row().classes("gap-1"):
                ui.button(
                    "Timeline", icon="history", on_click=lambda a=alert: show_alert(self.ctx, a.id)
                )
                if self.ctx.can_write:
                    if alert.state in ("pending", "firing"):
                        ui.button("Acknowledge", on_click=lambda a=alert: self.act(a, "ack")).props(
                            "flat dense"
                        ).mark(f"ack-{alert.id}")
                    ui.button("Assign", on_click=lambda a=alert: self.ask(a, "assign")).props(
                        "flat dense"
                    )
                    ui.button("Comment", on_click=lambda a=alert: self.ask(a, "comment")).props(
                        "flat dense"
                    )
                    if alert.state != "resolved":
                        ui.button("Resolve", on_click=lambda a=alert: self.act(a, "resolve")).props(
                            "flat dense color=positive"
                        ).mark(f"resolve-{alert.id}")

    async def act(self, alert: alerting.AlertRow, action: str, body: Any = None) -> bool:
        try:
            await self.ctx.api.post(f"/api/v1/alerts/{alert.id}/{action}", body)
        except ApiError as exc:
            self.ctx.report.error(exc, f"Could not {action}")
            return False
        done = {"ack": "Acknowledged", "resolve": "Resolved", "assign": "Assigned",
                "comment": "Commented"}[action]  # fmt: skip
        self.signature = None
        await self.refresh()
        ui.notify(f"{done}: {alert.title}", type="positive")
        return True

    def ask(self, alert: alerting.AlertRow, action: str) -> None:
        label = {"assign": "Assign to (email or name; blank: nobody)", "comment": "Comment"}
        with ui.dialog() as dialog, ui.card().classes("fc-card p-4 gap-3 w-full max-w-md"):
            ui.label(alert.title).classes("font-semibold")
            value = ui.input(label[action]).classes("w-full").mark(f"{action}-text")
            if action == "assign":
                value.value = alert.assignee or self.ctx.profile["user"]["email"]

            async def send() -> None:
                text = (value.value or "").strip()
                body = {"assignee": text or None} if action == "assign" else {"text": text}
                if await self.act(alert, action, body):
                    dialog.close()

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Save", on_click=send).mark(f"{action}-save")
        dialog.open()
