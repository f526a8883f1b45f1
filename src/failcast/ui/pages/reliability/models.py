"""The failure models page: train a new version, follow its training, and list every version."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, page_body
from failcast.ui.logic import formatting
from failcast.ui.pages.reliability.versions import VersionCard

# Where a new model version can learn from, for an org that runs the simulated fleet.
TRAINING_SOURCES = {
    "simulator": "simulated history",
    "database": "stored metrics and incidents",
}


def training_notice(answer: Mapping[str, Any]) -> str:
    """What the page says while a queued training runs."""
    history = (
        f"{answer['days']} days of simulated history"
        if answer["source"] == "simulator"
        else f"the last {answer['days']} days of stored metrics and incidents"
    )
    return f"Training on {history}…"


class ModelPage:
    def __init__(self, ctx: PageContext, *, simulated: bool = False) -> None:
        self.ctx = ctx
        # Whether the org runs the simulated fleet, whose simulated history can train a model.
        self.simulated = simulated
        self.signature: tuple[Any, ...] | None = None
        self.job_signature: tuple[Any, ...] | None = None
        self.versions = VersionCard(ctx, self._changed)

    def build(self) -> None:
        with page_body():
            with ui.row().classes("w-full items-center justify-between"):
                ui.label("Failure models").classes("fc-title")
                if self.ctx.can_admin:
                    with ui.row().classes("items-center gap-2"):
                        if self.simulated:
                            self.source = (
                                ui.select(TRAINING_SOURCES, value="simulator",
                                          label="Train on").classes("w-56")
                                .mark("train-source")
                            )  # fmt: skip
                        ui.button("Train a new version", icon="model_training",
                                  on_click=self.train).props("outline").mark("train")  # fmt: skip
            self.pending = ui.row().classes("items-center gap-2").mark("training")
            self.pending.set_visibility(False)
            self.box = ui.column().classes("w-full gap-4").mark("model-list")
        self.ctx.every(self.refresh)

    async def refresh(self) -> None:
        models = (await self.ctx.api.get("/api/v1/models"))["items"]
        jobs = await self.ctx.api.get("/api/v1/training-jobs", params={"limit": 1})
        self._job(jobs[0] if jobs else None)
        signature = tuple((m["version"], m["status"]) for m in models)
        if signature == self.signature:
            return
        self.signature = signature
        details = await asyncio.gather(
            *(self.ctx.api.get(f"/api/v1/models/{m['version']}") for m in models)
        )
        self.box.clear()
        with self.box:
            if not models:
                with card():
                    empty_state(
                        "model_training", "No trained model yet",
                        "Train one on simulated history with the button above: it needs none of"
                        " the org's own. Its predictions move with the fleet once services have"
                        " about a day of history." if self.simulated else
                        "Train one with the button above or `failcast train --org` once services"
                        " have some history; chaos incidents and resolved alerts are its labels.",
                    )  # fmt: skip
                return
            for model, detail in zip(models, details, strict=True):
                self.versions.draw(model, detail)

    async def _changed(self) -> None:
        """Redraw every version after one was promoted or rolled back."""
        self.signature = None
        await self.refresh()

    async def train(self) -> None:
        body = {"source": self.source.value} if self.simulated else {}
        try:
            answer = await self.ctx.api.post("/api/v1/models/train", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Training")
            return
        ui.notify(
            f"Training {answer['status']} (labels from {answer['source']}); the new version"
            " appears here when it is done.",
            type="info",
        )
        await self.refresh()

    def _job(self, job: Mapping[str, Any] | None) -> None:
        """The newest training: a spinner while it runs, its reason and advice if it failed."""
        signature = None if job is None else (job["id"], job["state"])
        if signature == self.job_signature:
            return
        self.job_signature = signature
        self.pending.clear()
        state = None if job is None else job["state"]
        self.pending.set_visibility(state in ("queued", "running", "failed"))
        if job is None or state == "succeeded":
            return
        with self.pending:
            if state == "failed":
                with ui.column().classes("gap-1").mark("training-failed"):
                    with ui.row().classes("items-center gap-2 no-wrap"):
                        ui.icon("error", color="negative")
                        ui.label(
                            f"Training failed {formatting.when(job['finished_at'])} UTC:"
                            f" {job['reason']}"
                        ).classes("text-sm")
                    if job.get("advice"):
                        ui.markdown(job["advice"]).classes("fc-muted text-sm")
                return
            ui.spinner(size="sm")
            ui.label(f"{training_notice(job)} ({state})").classes("text-sm")
