"""A service's failure predictions per horizon, with the likely kind of failure, its root
cause, the factors behind it and the playbook's steps."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from nicegui import ui

from failcast.ui import data
from failcast.ui.layout import PageContext, card
from failcast.ui.logic import failure_risk, formatting
from failcast.ui.theme import STATUS_COLOURS

# From this probability on a failure is called likely; below it only its kind is named.
LIKELY = 0.2


def recommendations(
    predictions: Sequence[failure_risk.Prediction], playbooks: Mapping[str, list[str]]
) -> list[str]:
    """The playbook steps of the failure type the riskiest horizon predicts."""
    if not predictions:
        return []
    riskiest = max(predictions, key=lambda p: p.probability)
    return list(playbooks.get(riskiest.failure_type or "", []))


class PredictionsCard:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.signature: tuple[Any, ...] | None = None
        self.playbooks: dict[str, list[str]] | None = None

    def build(self) -> None:
        with card("Failure predictions", "24 / 48 / 72 h"):
            self.box = ui.column().classes("w-full gap-2").mark("predictions")

    async def draw(self, predictions: list[failure_risk.Prediction]) -> None:
        mine = sorted(predictions, key=lambda p: p.horizon_hours)
        now = time.time()
        ages = [failure_risk.prediction_age(p.ts, now) for p in mine]
        # The age is part of what is shown, so a minute passing redraws it.
        signature = tuple(
            (p.horizon_hours, round(p.probability, 3), p.ts, age)
            for p, age in zip(mine, ages, strict=True)
        )
        if signature == self.signature:
            return
        self.signature = signature
        if mine and self.playbooks is None:
            self.playbooks = await data.playbooks(self.ctx.api)
        self.box.clear()
        with self.box:
            if not mine:
                ui.label(
                    "No prediction for this service yet: the failure model scores every service"
                    " every 15 minutes once one is trained (see Models)."
                ).classes("fc-muted text-sm")
                return
            with ui.row().classes("gap-6"):
                for p in mine:
                    with ui.column().classes("gap-0"):
                        ui.label(f"{p.horizon_hours} h").classes("fc-label")
                        colour = STATUS_COLOURS["critical" if p.alarm else "ok"]
                        ui.label(formatting.fmt_probability(p.probability)).classes(
                            "text-xl font-bold"
                        ).style(f"color: {colour}").mark(f"probability-{p.horizon_hours}")
            first = max(mine, key=lambda p: p.probability)
            age, stale = failure_risk.prediction_age(first.ts, now)
            kind = (first.failure_type or "unknown").replace("_", " ")
            # "Likely" only when a failure is: at a few percent it is the kind, if one comes.
            lead = "Likely failure" if first.probability >= LIKELY else "If it fails, most likely"
            ui.label(f"{lead}: {kind} · model v{first.model_version} · {age}").classes(
                "text-sm" + (" text-warning" if stale else "")
            ).mark("prediction-stale" if stale else "prediction-age")
            if first.root_cause:
                ui.label("Root cause").classes("fc-label mt-2")
                ui.label(first.root_cause).classes("text-sm").mark("root-cause")
            if first.factors:
                ui.label("Why").classes("fc-label mt-2")
                for factor in first.factors[:4]:
                    ui.label(f"• {factor}").classes("text-sm")
            steps = recommendations(mine, self.playbooks or {})
            if steps:
                ui.label("What to do").classes("fc-label mt-2")
                for step in steps[:5]:
                    ui.label(f"• {step}").classes("text-sm")
