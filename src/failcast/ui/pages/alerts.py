"""Alerts: the list with filters; acknowledge, assign, comment, resolve and the timeline of
each; silences, maintenance windows and threshold alert rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui import data
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, page_body, signed_in_page
from failcast.ui.logic import alerting, formatting
from failcast.ui.theme import severity_colour

STATE_FILTERS: dict[str, list[str] | None] = {
    "open": list(data.OPEN_STATES),
    "firing": ["firing"],
    "pending": ["pending"],
    "acknowledged": ["acknowledged"],
    "resolved": ["resolved"],
    "all": None,
}
SEVERITIES = ["", "critical", "warning", "info"]
DURATIONS = ["30m", "1h", "4h", "1d"]
OPS = [">", ">=", "<", "<=", "==", "!="]
# A comma only separates matchers where the next one starts: `name=`, `name!=`, `name=~`...
_MATCHER_SPLIT = re.compile(r"\s*,\s*(?=[a-zA-Z_][a-zA-Z0-9_]*\s*(?:=~|!~|!=|=))")


def split_matchers(text: str) -> list[str]:
    """Alertmanager matchers typed on one line, separated by commas."""
    return [part for part in _MATCHER_SPLIT.split(text.strip()) if part]


def condition_text(context: dict[str, Any]) -> str:
    """What fired, with the value that fired it: `avg(x[5m]) > 200 (was 250)`."""
    what = context.get("what") or {}
    if not what.get("condition"):
        return ""
    value = what.get("value")
    seen = f" (was {value:.4g})" if isinstance(value, int | float) else ""
    return f"{what['condition']}{seen}"


def context_lines(context: dict[str, Any]) -> list[str]:
    """An alert's context as sentences: condition, time to impact, factors and MTTR."""
    lines = []
    condition = condition_text(context)
    if condition:
        lines.append(f"Fired on: {condition}")
    hours = context.get("time_to_impact_hours")
    if isinstance(hours, int | float):
        lines.append(f"Time to impact: about {hours:.1f} h")
    factors = [f for f in context.get("factors") or [] if f.get("name")]
    if factors:
        lines.append("Factors: " + "; ".join(str(f["name"]) for f in factors[:4]))
    mttr = context.get("mttr") or {}
    if isinstance(mttr.get("median_minutes"), int | float):
        lines.append(f"Similar incidents took a median {mttr['median_minutes']:.0f} min to fix")
    return lines


def register_alerts_page() -> None:
    @ui.page("/alerts", title="Alerts · Failcast")
    async def alerts(request: Request, alert: int | None = None) -> None:
        ctx = await signed_in_page(request, "Alerts", "/alerts")
        if ctx is None:
            return
        page = AlertsPage(ctx)
        page.build()
        if alert is not None:
            await page.show(alert)


class AlertsPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.signature: tuple[Any, ...] | None = None
        self.side_signature: tuple[Any, ...] | None = None
        self.alerts: list[alerting.AlertRow] = []

    def build(self) -> None:
        with page_body():
            ui.label("Alerts").classes("fc-title")
            with ui.row().classes("w-full gap-3 items-end"):
                self.state = ui.select(list(STATE_FILTERS), value="open", label="State").classes(
                    "w-40"
                )
                self.severity = ui.select(SEVERITIES, value="", label="Severity").classes("w-40")
                self.search = ui.input("Search title").classes("grow min-w-[180px]")
                self.service = ui.input("Service").classes("w-44")
                for element in (self.state, self.severity, self.search, self.service):
                    element.on_value_change(self._refilter)
            self.list = ui.column().classes("w-full gap-2").mark("alert-list")
            with ui.element("div").classes("fc-row2"):
                with card("Silences", "matching alerts notify nobody until the silence ends"):
                    if self.ctx.can_write:
                        self._silence_form()
                    self.silences = ui.column().classes("w-full gap-1").mark("silences")
                with card("Maintenance windows", "a service's alerts are held while it lasts"):
                    if self.ctx.can_write:
                        self._maintenance_form()
                    self.windows = ui.column().classes("w-full gap-1").mark("maintenance")
            with card("Alert rules", "threshold rules; import YAML for the other kinds"):
                if self.ctx.can_admin:
                    ui.button(
                        "Add the recommended rules, SLOs and channel",
                        icon="playlist_add_check",
                        on_click=self.apply_defaults,
                    ).props("outline").mark("apply-defaults")
                if self.ctx.can_write:
                    self._rule_form()
                self.rules = ui.column().classes("w-full gap-1").mark("alert-rules")
        self.ctx.every(self.refresh)

    async def refresh(self) -> None:
        api = self.ctx.api
        self.alerts = await data.alerts(
            api,
            STATE_FILTERS[self.state.value],
            service=(self.service.value or "").strip() or None,
            severity=[self.severity.value] if self.severity.value else None,
            text=(self.search.value or "").strip() or None,
            limit=200,
        )
        self._render()
        await self._side()

    async def _refilter(self) -> None:
        self.signature = None
        try:
            await self.refresh()
        except ApiError as exc:
            self.ctx.report.error(exc, "Filter")

    def _render(self) -> None:
        shown = alerting.by_priority(self.alerts)
        signature = tuple((a.id, a.state, a.assignee) for a in shown)
        if signature == self.signature:
            return
        self.signature = signature
        self.list.clear()
        with self.list:
            if not shown:
                with card():
                    empty_state(
                        "task_alt",
                        "No alerts match",
                        "Alerts appear when a rule fires. Add a rule below, then inject a fault"
                        " on the **Chaos** page to see one end to end.",
                    )
                return
            for alert in shown[:100]:
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
                ui.button("Timeline", icon="history", on_click=lambda a=alert: self.show(a.id))
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

    async def show(self, alert_id: int) -> None:
        """One alert with its timeline: what fired, every change and comment."""
        try:
            detail = await self.ctx.api.get(f"/api/v1/alerts/{alert_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Alert")
            return
        context = detail.get("context") or {}
        with ui.dialog() as dialog, ui.card().classes("fc-card p-4 gap-2 w-full max-w-2xl"):
            ui.label(detail["title"]).classes("text-lg font-semibold")
            ui.label(
                f"{detail['severity']} · {detail['state']} · {detail.get('service') or '—'}"
                f" · labels {', '.join(f'{k}={v}' for k, v in detail['labels'].items()) or '—'}"
            ).classes("fc-muted text-sm")
            for line in context_lines(context):
                ui.label(line).classes("text-sm")
            steps = context.get("recommendations") or []
            if steps:
                ui.label("What to do").classes("fc-label mt-2")
                for step in steps:
                    ui.label(f"• {step}").classes("text-sm")
            ui.label("Timeline").classes("fc-label mt-2")
            with ui.column().classes("w-full gap-1").mark("timeline"):
                for event in detail.get("timeline") or []:
                    with ui.row().classes("w-full gap-2 no-wrap items-start"):
                        ui.label(formatting.when(event["at"])).classes(
                            "fc-muted text-xs w-36 shrink-0"
                        )
                        ui.badge(event["kind"]).props("outline")
                        ui.label(
                            f"{event['message']}"
                            + (f" — {event['actor']}" if event.get("actor") else "")
                        ).classes("text-sm")
            ui.button("Close", on_click=dialog.close).props("flat")
        dialog.open()

    # -------------------------------------------------------------- silences, windows, rules

    def _silence_form(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            self.silence_matchers = (
                ui.input("Matchers", placeholder='service="checkout", severity="warning"')
                .classes("grow min-w-[220px]")
                .mark("silence-matchers")
            )
            self.silence_duration = ui.select(DURATIONS, value="1h", label="For").classes("w-24")
        with ui.row().classes("w-full items-end gap-2"):
            self.silence_comment = ui.input("Why").classes("grow")
            ui.button("Silence", icon="notifications_paused", on_click=self.silence).mark("silence")

    async def silence(self) -> None:
        body = {
            "matchers": split_matchers(self.silence_matchers.value or ""),
            "duration": self.silence_duration.value,
            "comment": self.silence_comment.value or "",
        }
        try:
            await self.ctx.api.post("/api/v1/silences", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not create the silence")
            return
        ui.notify("Silenced.", type="positive")
        self.silence_matchers.value = self.silence_comment.value = ""
        await self._side(force=True)

    def _maintenance_form(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            self.window_service = ui.input("Service").classes("w-40").mark("window-service")
            self.window_hours = ui.number("Hours", value=1, min=0.25, max=168, step=0.25).classes(
                "w-24"
            )
            self.window_reason = ui.input("Reason").classes("grow")
            ui.button("Schedule", icon="build", on_click=self.schedule).mark("schedule-window")

    async def schedule(self) -> None:
        start = datetime.now(UTC)
        end = start + timedelta(hours=float(self.window_hours.value or 1))
        body = {
            "service": (self.window_service.value or "").strip(),
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
            "reason": self.window_reason.value or "",
        }
        try:
            await self.ctx.api.post("/api/v1/maintenance-windows", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not schedule the window")
            return
        ui.notify("Maintenance window scheduled.", type="positive")
        await self._side(force=True)

    def _rule_form(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            self.rule_name = ui.input("Name").classes("w-48").mark("rule-name")
            self.rule_service = (
                ui.input("Service (blank: all)").classes("w-40").mark("rule-service")
            )
            self.rule_metric = (
                ui.input("Metric", value="latency_p99_ms").classes("w-44").mark("rule-metric")
            )
            self.rule_op = ui.select(OPS, value=">", label="Op").classes("w-20")
            self.rule_value = ui.number("Value", value=200).classes("w-28").mark("rule-value")
            self.rule_window = ui.select(["1m", "5m", "15m", "1h"], value="5m",
                                         label="Window").classes("w-24")  # fmt: skip
            self.rule_severity = ui.select(SEVERITIES[1:], value="warning",
                                           label="Severity").classes("w-32")  # fmt: skip
            ui.button("Add rule", icon="add_alert", on_click=self.add_rule).mark("add-rule")

    async def add_rule(self) -> None:
        body = {
            "kind": "threshold",
            "name": self.rule_name.value or "",
            "service": (self.rule_service.value or "").strip() or None,
            "metric": (self.rule_metric.value or "").strip(),
            "op": self.rule_op.value,
            "value": float(self.rule_value.value or 0),
            "window": self.rule_window.value,
            "severity": self.rule_severity.value,
        }
        try:
            await self.ctx.api.post("/api/v1/alert-rules", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not add the rule")
            return
        ui.notify(f"Rule {body['name']} added; it is evaluated every minute.", type="positive")
        await self._side(force=True)

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
        await self._side(force=True)

    async def _side(self, force: bool = False) -> None:
        api = self.ctx.api
        silences = await api.get("/api/v1/silences")
        windows = await api.get("/api/v1/maintenance-windows")
        rules = await api.get("/api/v1/alert-rules")
        signature = (
            tuple((s["id"], s["status"]) for s in silences),
            tuple(w["id"] for w in windows),
            tuple((r["id"], r["enabled"], r["updated_at"]) for r in rules),
        )
        if signature == self.side_signature and not force:
            return
        self.side_signature = signature
        self._silences(silences)
        self._windows(windows)
        self._rules(rules)

    def _silences(self, items: list[dict[str, Any]]) -> None:
        self.silences.clear()
        with self.silences:
            if not items:
                ui.label("No active silence.").classes("fc-muted text-sm")
            for item in items:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.icon("notifications_paused").classes("fc-muted")
                    ui.label(
                        f"{', '.join(item['matchers'])} until {formatting.when(item['ends_at'])}"
                        f" ({item['status']})"
                        + (f" — {item['comment']}" if item["comment"] else "")
                    ).classes("grow text-sm")
                    if self.ctx.can_write:
                        ui.button(
                            icon="delete", on_click=lambda i=item["id"]: self.expire(i)
                        ).props("flat round dense").tooltip("Expire now")

    async def expire(self, silence_id: int) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/silences/{silence_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not expire the silence")
            return
        ui.notify("Silence expired.", type="positive")
        await self._side(force=True)

    def _windows(self, items: list[dict[str, Any]]) -> None:
        self.windows.clear()
        with self.windows:
            if not items:
                ui.label("No maintenance scheduled.").classes("fc-muted text-sm")
            for item in items:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.icon("build").classes("fc-muted")
                    ui.label(
                        f"{item['service']}: {formatting.when(item['starts_at'])} to"
                        f" {formatting.when(item['ends_at'])}"
                        + (f" — {item['reason']}" if item["reason"] else "")
                    ).classes("grow text-sm")
                    if self.ctx.can_write:
                        ui.button(
                            icon="delete", on_click=lambda i=item["id"]: self.end_window(i)
                        ).props("flat round dense").tooltip("Cancel")

    async def end_window(self, window_id: int) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/maintenance-windows/{window_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not cancel the window")
            return
        await self._side(force=True)

    def _rules(self, rules: list[dict[str, Any]]) -> None:
        self.rules.clear()
        with self.rules:
            if not rules:
                ui.label(
                    "No alert rule yet: nothing can raise an alert. Add the recommended ones"
                    " above, or your own."
                ).classes("fc-muted text-sm")
            for rule in rules:
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
        await self._side(force=True)
