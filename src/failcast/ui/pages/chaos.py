"""Chaos: inject a fault into the simulated fleet, watch metrics, alerts and predictions react,
and run experiments with a journal."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui import charts, data
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, page_body, signed_in_page
from failcast.ui.logic import alerting, failure_risk, formatting, timeseries
from failcast.ui.theme import severity_colour

DURATIONS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600}
WATCH_WINDOW_S = 900
# Days of simulated history stored when the fleet starts: charts, health and training need some.
HISTORY_CHOICES = {0: "No history", 1: "1 day of history", 2: "2 days of history",
                   7: "7 days of history"}  # fmt: skip
# The metric that shows each kind of service failing soonest.
WATCH_METRIC = {
    "microservice": "latency_p99_ms",
    "ml_model": "accuracy",
    "data_pipeline": "run_success_rate",
}


def experiment_template(target: str, kind: str, metric: str, fault: str) -> dict[str, Any]:
    """A small, valid experiment on `target` to start editing from."""
    op, threshold = {
        "latency_p99_ms": ("<", 500),
        "accuracy": (">", 0.8),
        "run_success_rate": (">", 0.9),
    }.get(metric, ("<", 1e9))
    return {
        "experiment": {
            "title": f"{target} survives {fault}",
            "steady-state-hypothesis": {
                "title": f"{target} stays within its objective",
                "probes": [f"{target} {metric} {op} {threshold}"],
            },
            "method": [{"kind": fault, "target": target, "duration_s": 120}],
            "rollbacks": [{"action": "stop_faults", "target": target}],
        },
        "observe_seconds": 60,
        "settle_seconds": 30,
        "dry_run": True,
    }


def progress(experiment: dict[str, Any], now: float) -> float:
    """Share of an experiment's observe-inject-observe run that has passed at `now`."""
    start, end = float(experiment["observe_from"]), float(experiment["after_to"])
    if end <= start:
        return 1.0
    return min(1.0, max(0.0, (now - start) / (end - start)))


def countdown_text(left_s: float) -> str:
    """A fault's time left: `4 min 05 s left`, `42 s left`, or `ending`."""
    if left_s < 1:
        return "ending"
    minutes, seconds = divmod(int(left_s), 60)
    return f"{minutes} min {seconds:02d} s left" if minutes else f"{seconds} s left"


def register_chaos_page() -> None:
    @ui.page("/chaos", title="Chaos · Failcast")
    async def chaos(request: Request) -> None:
        ctx = await signed_in_page(request, "Chaos", "/chaos")
        if ctx is None:
            return
        fleet = await ctx.api.get("/api/v1/chaos/fleet")
        # Set by "Start the simulated fleet": the history being stored, in days.
        history = request.query_params.get("history", "")
        await ChaosPage(ctx, fleet, int(history) if history.isdigit() else 0).build()


class ChaosPage:
    def __init__(self, ctx: PageContext, fleet: dict[str, Any], history_days: int = 0) -> None:
        self.ctx = ctx
        self.fleet = fleet
        self.history_days = history_days
        self.services = {s["name"]: s for s in fleet.get("services") or []}
        self.faults_signature: tuple[Any, ...] | None = None
        self.rules_seen = False
        # The active faults' "time left" labels and when each fault ends (unix seconds).
        self.countdowns: list[tuple[ui.label, float]] = []
        self.experiments_signature: tuple[Any, ...] | None = None

    async def build(self) -> None:
        with page_body():
            with ui.row().classes("w-full items-center justify-between"):
                ui.label("Chaos engineering").classes("fc-title")
                self.reset_button = ui.button(
                    "Stop all faults", icon="stop_circle", on_click=self.reset
                ).props("outline color=negative")
            if not self.fleet.get("enabled"):
                self._disabled()
                return
            if self.history_days in HISTORY_CHOICES and self.history_days:
                with ui.card().classes("fc-card w-full").mark("history-banner"):
                    ui.label(
                        f"Storing {HISTORY_CHOICES[self.history_days].lower()} in the"
                        " background: charts fill in within a minute, then train a failure"
                        " model on the Models page."
                    ).classes("text-sm")
            with ui.element("div").classes("fc-row2"):
                with card("Inject a fault"):
                    self._form()
                with card("Active faults"):
                    self.faults = ui.column().classes("w-full gap-1").mark("active-faults")
            with ui.element("div").classes("fc-row2"):
                with card("Watch", "the target's key metric, 15 min"):
                    self.watch_title = ui.label("").classes("text-sm").mark("watch-metric")
                    self.watch = ui.echart(charts.metric_chart("", [], self.ctx.palette)).classes(
                        "h-56 w-full"
                    )
                with card("Reaction", "alerts and predictions for the target"):
                    self.reaction = ui.column().classes("w-full gap-1").mark("reaction")
            with card("Experiments", "observe → inject → roll back → observe → verdict"):
                self._experiment_form()
                self.experiments = ui.column().classes("w-full gap-2").mark("experiments")
        self.ctx.every(self.refresh)
        ui.timer(1.0, self.tick)

    def _disabled(self) -> None:
        self.reset_button.set_visibility(False)
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

    def _form(self) -> None:
        names = sorted(self.services)
        first = names[0] if names else None
        self.target = (
            ui.select(names, value=first, label="Target", with_input=True)
            .classes("w-full")
            .mark("chaos-target")
        )
        self.kind = ui.select([], label="Fault").classes("w-full").mark("chaos-fault")
        with ui.row().classes("w-full gap-3 no-wrap"):
            self.duration = (
                ui.select(list(DURATIONS), value="5m", label="Duration")
                .classes("grow")
                .mark("chaos-duration")
            )
            self.intensity = ui.number("Intensity", value=1.0, min=0.1, max=5, step=0.1).classes(
                "w-28"
            )
        self.target.on_value_change(lambda _: self._fault_options())
        self._fault_options()
        self.inject_button = (
            ui.button("Inject", icon="bolt", on_click=self.inject)
            .classes("w-full")
            .props("color=negative")
            .mark("inject")
        )
        if not self.ctx.can_write:
            self.inject_button.disable()

    def _fault_options(self) -> None:
        service = self.services.get(self.target.value or "")
        kinds = list(service["fault_kinds"]) if service else []
        self.kind.set_options(kinds, value=kinds[0] if kinds else None)

    async def inject(self) -> None:
        body = {
            "target_service": self.target.value,
            "chaos_type": self.kind.value,
            "duration": DURATIONS[self.duration.value],
            "intensity": float(self.intensity.value or 1.0),
        }
        self.inject_button.props("loading")
        try:
            fault = await self.ctx.api.post("/api/v1/chaos/inject", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Injection refused")
            return
        finally:
            self.inject_button.props(remove="loading")
        ui.notify(
            f"Injected {fault['kind']} into {fault['target']} for {fault['duration_s']:.0f} s",
            type="warning",
        )
        await self.refresh()

    async def reset(self) -> None:
        try:
            stopped = await self.ctx.api.post("/api/v1/chaos/reset")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not stop the faults")
            return
        await self.refresh()
        ui.notify(f"Stopped {len(stopped)} fault(s).", type="positive")

    async def stop(self, fault_id: int) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/chaos/faults/{fault_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not stop the fault")
            return
        await self.refresh()

    def tick(self) -> None:
        """Count the active faults' time left down every second, between refreshes."""
        now = time.time()
        for label, end in self.countdowns:
            label.text = countdown_text(max(0.0, end - now))

    async def refresh(self) -> None:
        api = self.ctx.api
        faults = await api.get("/api/v1/chaos/faults")
        self._faults(faults)
        target = self.target.value
        if target:
            kind = self.services.get(target, {}).get("kind", "microservice")
            metric = WATCH_METRIC.get(kind, "latency_p99_ms")
            answer = await data.metric(api, metric, service=target, window_s=WATCH_WINDOW_S)
            points = timeseries.series_points(answer, target)
            unit = formatting.unit_of(metric)
            shown = "%" if unit == "fraction" else unit
            if unit == "fraction":
                points = [(t, v * 100.0) for t, v in points]
            self.watch_title.text = (
                f"{target}: {formatting.metric_label(metric)} ({metric}"
                + (f", {shown}" if shown else "")
                + "), last 15 min"
            )
            self.watch.options.clear()
            self.watch.options.update(
                charts.metric_chart(
                    f"{target} {formatting.metric_label(metric)}",
                    points,
                    self.ctx.palette,
                    unit=shown,
                )
            )
            self.watch.update()
            await self._reaction(target)
        await self._experiments()

    def _faults(self, faults: list[dict[str, Any]]) -> None:
        signature = tuple((f["id"], f.get("stopped_at")) for f in faults)
        if signature == self.faults_signature:
            return
        self.faults_signature = signature
        self.faults.clear()
        self.countdowns = []
        with self.faults:
            if not faults:
                ui.label("No fault is acting. The fleet runs on its own noise.").classes(
                    "fc-muted text-sm"
                )
                return
            now = time.time()
            for fault in faults:
                left = max(0.0, float(fault["end"]) - now)
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.icon("bolt", color="negative")
                    ui.label(f"{fault['kind']} → {fault['target']}").classes("grow text-sm")
                    countdown = ui.label(countdown_text(left)).classes("fc-muted text-xs")
                    self.countdowns.append((countdown, float(fault["end"])))
                    fault_id = int(fault["id"])
                    ui.button(icon="stop", on_click=lambda f=fault_id: self.stop(f)).props(
                        "flat round dense"
                    ).tooltip("Stop now")

    async def _has_rules(self) -> bool:
        """Whether the org has an alert rule; once it has, that is not asked again."""
        if not self.rules_seen:
            self.rules_seen = bool(await self.ctx.api.get("/api/v1/alert-rules"))
        return self.rules_seen

    async def _reaction(self, target: str) -> None:
        alerts, predictions = await asyncio.gather(
            data.alerts(self.ctx.api, data.OPEN_STATES, service=target, limit=20),
            data.predictions(self.ctx.api, target),
        )
        self.reaction.clear()
        with self.reaction:
            mine = alerting.by_priority(alerts)
            if not mine and not await self._has_rules():
                ui.markdown(
                    "No alert rule exists, so no fault can raise an alert. Add the recommended"
                    " rules on the [Alerts](alerts) page."
                ).classes("text-sm").mark("no-rules")
            elif not mine:
                ui.label(
                    f"No open alert on {target} yet (rules are evaluated every minute)."
                ).classes("fc-muted text-sm")
            for alert in mine[:5]:
                with ui.row().classes("items-center gap-2"):
                    ui.html(
                        f'<span class="fc-dot" style="background:'
                        f'{severity_colour(alert.severity)}"></span>'
                    )
                    ui.label(f"{alert.title} ({alert.state})").classes("text-sm").mark(
                        "reaction-alert"
                    )
            ordered = sorted(predictions, key=lambda p: p.horizon_hours)
            text = ", ".join(f"{p.horizon_hours} h {p.probability:.0%}" for p in ordered)
            if ordered:
                age, _ = failure_risk.prediction_age(max(p.ts for p in ordered), time.time())
                text += f" ({age})"
            ui.label(f"P(failure): {text or 'no prediction yet'}").classes("text-sm").mark(
                "reaction-prediction"
            )

    def _experiment_form(self) -> None:
        target = self.target.value or ""
        kind = self.services.get(target, {}).get("kind", "microservice")
        template = experiment_template(
            target, kind, WATCH_METRIC.get(kind, "latency_p99_ms"), self.kind.value or "cpu_spike"
        )
        with ui.expansion("New experiment", icon="science").classes("w-full"):
            ui.label(
                "Edit the experiment (Chaos Toolkit shape). A dry run computes the journal at once"
                " on a copy of the fleet; otherwise it runs live and the journal appears when the"
                " last observation window ends."
            ).classes("fc-muted text-sm")
            self.spec = (
                ui.textarea(value=json.dumps(template, indent=2))
                .props("outlined autogrow")
                .classes("w-full font-mono text-xs")
                .mark("experiment-spec")
            )
            ui.button("Run experiment", icon="play_arrow", on_click=self.run_experiment).mark(
                "run-experiment"
            )

    async def run_experiment(self) -> None:
        try:
            body = json.loads(self.spec.value or "{}")
        except json.JSONDecodeError as exc:
            ui.notify(f"The experiment is not valid JSON: {exc}", type="negative")
            return
        with ui.dialog() as waiting, ui.card().classes("fc-card p-6 items-center"):
            ui.spinner(size="lg")
            ui.label("Running the experiment…")
        waiting.open()
        try:
            result = await self.ctx.api.post("/api/v1/chaos/experiments", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Experiment refused")
            return
        finally:
            waiting.close()
        if result.get("journal"):
            self._journal(result)
        else:
            ui.notify("Experiment started; follow it below.", type="info")
        self.experiments_signature = None
        await self._experiments()

    async def _experiments(self) -> None:
        items = await self.ctx.api.get("/api/v1/chaos/experiments")
        signature = tuple((e["id"], e["status"], round(progress(e, time.time()), 2)) for e in items)
        if signature == self.experiments_signature:
            return
        self.experiments_signature = signature
        self.experiments.clear()
        with self.experiments:
            if not items:
                ui.label("No experiments yet. Open “New experiment” above.").classes(
                    "fc-muted text-sm"
                )
            now = time.time()
            for item in items[:20]:
                with ui.row().classes("w-full items-center gap-3 no-wrap"):
                    verdict = item.get("verdict") or item["status"]
                    colour = {"passed": "positive", "failed": "negative"}.get(verdict, "grey")
                    ui.badge(verdict, color=colour)
                    ui.label(item["title"]).classes("grow text-sm truncate")
                    if item.get("journal"):
                        ui.button("Journal", on_click=lambda i=item: self._journal(i)).props(
                            "flat dense"
                        )
                    else:
                        ui.linear_progress(value=progress(item, now), show_value=False).classes(
                            "w-32"
                        )

    def _journal(self, experiment: dict[str, Any]) -> None:
        with ui.dialog() as dialog, ui.card().classes("fc-card w-full max-w-3xl p-4 gap-2"):
            ui.label(f"{experiment['title']} — {experiment.get('verdict')}").classes(
                "text-lg font-semibold"
            )
            ui.code(json.dumps(experiment.get("journal"), indent=2), language="json").classes(
                "w-full max-h-[60vh] overflow-auto"
            )
            ui.button("Close", on_click=dialog.close).props("flat")
        dialog.open()
