"""Alert rules: the recommended set in one click, a threshold rule editor, and the list."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.pages.alerts.panel import Panel
from failcast.ui.theme import severity_colour

SEVERITIES = ["critical", "warning", "info"]
OPS = [">", ">=", "<", "<=", "==", "!="]
WINDOWS = ["1m", "5m", "15m", "1h"]


class RulesPanel(Panel):
    path = "/api/v1/alert-rules"

    def build(self) -> None:
        with card("Alert rules", "threshold rules; import YAML for the other kinds"):
            if self.ctx.can_admin:
                ui.button(
                    "Add the recommended rules, SLOs and channel",
                    icon="playlist_add_check",
                    on_click=self.apply_defaults,
                ).props("outline").mark("apply-defaults")
            if self.ctx.can_write:
                self._form()
            self.box = ui.column().classes("w-full gap-1").mark("alert-rules")

    def _form(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            self.name = ui.input("Name").classes("w-48").mark("rule-name")
            self.service = ui.input("Service (blank: all)").classes("w-40").mark("rule-service")
            self.metric = (
                ui.input("Metric", value="latency_p99_ms").classes("w-44").mark("rule-metric")
            )
            self.op = ui.select(OPS, value=">", label="Op").classes("w-20")
            self.value = ui.number("Value", value=200).classes("w-28").mark("rule-value")
            self.window = ui.select(WINDOWS, value="5m", label="Window").classes("w-24")
            self.severity = ui.select(SEVERITIES, value="warning", label="Severity").classes("w-32")
            ui.button("Add rule", icon="add_alert", on_click=self.add_rule).mark("add-rule")

    async def add_rule(self) -> None:
        body = {
            "kind": "threshold",
            "name": self.name.value or "",
            "service": (self.service.value or "").strip() or None,
            "metric": (self.metric.value or "").strip(),
            "op": self.op.value,
            "value": float(self.value.value or 0),
            "window": self.window.value,
            "severity": self.severity.value,
        }
        try:
            await self.ctx.api.post("/api/v1/alert-rules", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not add the rule")
            return
        ui.notify(f"Rule {body['name']} added; it is evaluated every minute.", type="positive")
        await self.changed()

    async def apply_defaults(self) -> None:
        try:
            applied = await self.ctx.api.post("/api/v1/orgs/current/defaults")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not add the defaults")
            return
        added = (
            f"Added {len(applied['rules'])} rules, {len(applied['slos'])} SLOs and"
            f" {len(applied['channels'])} channels."
        )
        ui.notify(" ".join([added, *applied["notes"]]), type="positive", multi_line=True)
        await self.changed()

    def signature(self, items: list[dict[str, Any]]) -> tuple[Any, ...]:
        return tuple((r["id"], r["enabled"], r["updated_at"]) for r in items)

    def draw(self, items: list[dict[str, Any]]) -> None:
        self.box.clear()
        with self.box:
            if not items:
                ui.label(
                    "No alert rule yet: nothing can raise an alert. Add the recommended ones"
                    " above, or your own."
                ).classes("fc-muted text-sm")
            for rule in items:
                spec = rule["spec"]
                where = spec.get("service") or "all services"
                what = (
                    f"{spec.get('agg', 'avg')}({spec['metric']}[{spec.get('window')}])"
                    f" {spec.get('op')} {spec.get('value')}"
                    if rule["kind"] == "threshold"
                    else spec.get("description") or rule["kind"].replace("_", " ")
                )
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.html(
                        f'<span class="fc-dot" style="background:'
                        f'{severity_colour(rule["severity"])}"></span>'
                    )
                    ui.label(f"{rule['name']}: {what} on {where}").classes("grow text-sm")
                    if not rule["enabled"]:
                        ui.badge("disabled").props("outline")
                    if self.ctx.can_write:
                        ui.button(icon="delete", on_click=lambda r=rule: self.delete_rule(r)).props(
                            "flat round dense"
                        ).tooltip("Delete")

    async def delete_rule(self, rule: dict[str, Any]) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/alert-rules/{rule['id']}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not delete the rule")
            return
        ui.notify(f"Deleted {rule['name']}.", type="positive")
        await self.changed()
