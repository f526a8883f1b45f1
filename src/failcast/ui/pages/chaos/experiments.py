"""Experiments: a Chaos Toolkit-shaped one to edit and run (observe, inject, roll back,
observe, verdict), the list with each run's progress, and the journal of a finished one."""

from __future__ import annotations

import json
import time
from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card


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


class Experiments:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.signature: tuple[Any, ...] | None = None

    def build(self, template: dict[str, Any]) -> None:
        """Draw the card with the form, `template` in its editor, and the list's box."""
        with card("Experiments", "observe → inject → roll back → observe → verdict"):
            self._form(template)
            self.box = ui.column().classes("w-full gap-2").mark("experiments")

    def _form(self, template: dict[str, Any]) -> None:
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
            ui.button("Run experiment", icon="play_arrow", on_click=self.run).mark("run-experiment")

    async def run(self) -> None:
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
        self.signature = None
        await self.refresh()

    async def refresh(self) -> None:
        """List the experiments, unless they and their progress are shown as they are."""
        items = await self.ctx.api.get("/api/v1/chaos/experiments")
        signature = tuple((e["id"], e["status"], round(progress(e, time.time()), 2)) for e in items)
        if signature == self.signature:
            return
        self.signature = signature
        self.box.clear()
        with self.box:
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
