"""One failure-model version as the models page shows it: its figures, backtest by horizon,
reliability diagram and promotion gate, with promote (past a failed gate, with a reason) and
roll back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from nicegui import ui

from failcast.ui import charts
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card
from failcast.ui.logic import formatting

BACKTEST_KEYS = ("precision", "recall", "f1", "auc_pr", "brier", "lead_h_median",
                 "false_alarms_per_day")  # fmt: skip


def backtest_rows(figures: Mapping[str, Any]) -> list[dict[str, str]]:
    """One row per split and horizon of a model's stored figures (`test`, `validation`)."""
    rows = []
    for split in ("test", "validation"):
        for horizon, values in sorted((figures.get(split) or {}).items()):
            # Horizons only: the incident type classifier's figures ("type") are not a horizon.
            if isinstance(values, Mapping) and str(horizon)[:-1].isdigit():
                row = {"split": split, "horizon": str(horizon)}
                row |= {k: formatting.fmt_num(values.get(k)) for k in BACKTEST_KEYS}
                rows.append(row)
    return rows


def reliability_bins(model: Mapping[str, Any]) -> list[tuple[float, float, int]]:
    """(mean predicted, observed rate, count) per bin of a model's calibration on test data."""
    return [(float(b[0]), float(b[1]), int(b[2]) if len(b) > 2 else 0)
            for b in model.get("reliability") or [] if len(b) >= 2]  # fmt: skip


class VersionCard:
    def __init__(self, ctx: PageContext, changed: Callable[[], Awaitable[None]]) -> None:
        self.ctx = ctx
        self.changed = changed

    def draw(self, model: Mapping[str, Any], detail: Mapping[str, Any]) -> None:
        """Draw one version's card from its list entry and its detail."""
        stage = str(model["stage"])
        title = f"version {model['version']}"
        subtitle = (
            f"{stage} · trained {formatting.when(model['created_at'])} on"
            f" {formatting.when(model['train_start'])[:10]}"
            f" to {formatting.when(model['train_end'])[:10]}"
            f" · labels from {model['source']} · {', '.join(model['members']) or 'no members'}"
        )
        with card(title, subtitle):
            with ui.row().classes("gap-6"):
                for key, value in model["metrics"].items():
                    with ui.column().classes("gap-0"):
                        ui.label(key.replace("_", " ")).classes("fc-label")
                        ui.label(formatting.fmt_num(value)).classes("font-bold")
            with ui.element("div").classes("fc-row2"):
                rows = backtest_rows(detail.get("figures") or {})
                with ui.column().classes("w-full gap-1"):
                    ui.label("Backtest, by horizon").classes("fc-label")
                    if rows:
                        ui.table(
                            columns=[
                                {"name": k, "label": k.replace("_", " "), "field": k,
                                 "align": "left"}
                                for k in ("split", "horizon", *BACKTEST_KEYS)
                            ],
                            rows=rows,
                        ).props("dense flat").classes("w-full")  # fmt: skip
                    else:
                        ui.label("No backtest figures stored.").classes("fc-muted text-sm")
                with ui.column().classes("w-full gap-1"):
                    ui.label("Reliability (test split, 24 h)").classes("fc-label")
                    bins = reliability_bins(model)
                    if bins:
                        ui.echart(charts.reliability(bins, self.ctx.palette)).classes(
                            "h-56 w-full"
                        ).mark("reliability")
                    else:
                        ui.label("Too few test predictions for a diagram.").classes(
                            "fc-muted text-sm"
                        )
            self._gate(model)
            if self.ctx.can_admin:
                version = int(model["version"])
                passed = (model.get("gate") or {}).get("passed", True)
                with ui.row().classes("gap-2"):
                    if model["status"] == "candidate" and passed:
                        ui.button(
                            "Promote",
                            icon="upgrade",
                            on_click=lambda: self.post(version, "promote", "Promoted"),
                        )
                    if model["status"] == "candidate" and not passed:
                        ui.button(
                            "Promote anyway…", icon="upgrade", on_click=lambda: self.force(version)
                        ).props("outline color=warning").mark(f"force-{version}")
                    if model["status"] == "active":
                        ui.button("Roll back", icon="undo",
                                  on_click=lambda: self.post(version, "rollback", "Rolled back")
                                  ).props("outline")  # fmt: skip

    def _gate(self, model: Mapping[str, Any]) -> None:
        """The promotion gate's verdict, its reasons, and who overrode it."""
        verdict = model.get("gate")
        if verdict is None:
            return
        with ui.column().classes("gap-0").mark(f"gate-{model['version']}"):
            with ui.row().classes("items-center gap-2 no-wrap"):
                if verdict.get("passed"):
                    ui.icon("verified", color="positive")
                    ui.label("Passes the promotion gate").classes("text-sm")
                else:
                    ui.icon("gpp_bad", color="warning")
                    ui.label("Fails the promotion gate:").classes("text-sm")
            for reason in verdict.get("reasons") or []:
                ui.label(f"• {reason}").classes("text-sm")
            if model.get("forced_by"):
                ui.label(
                    f"Promoted anyway by {model['forced_by']}"
                    f" {formatting.when(model['forced_at'])} UTC: {model['forced_reason']}"
                ).classes("fc-muted text-sm")

    def force(self, version: int) -> None:
        """Ask why, then promote a version past its failed gate; the reason is recorded."""
        with ui.dialog() as dialog, ui.card().classes("fc-card p-4 gap-3 w-full max-w-md"):
            ui.label(f"Promote version {version} past the gate").classes("font-semibold")
            ui.label(
                "It failed the promotion gate. The registry records who promoted it and why."
            ).classes("fc-muted text-sm")
            reason = ui.textarea("Reason (required)").classes("w-full").mark("force-reason")

            async def send() -> None:
                text = (reason.value or "").strip()
                if not text:
                    ui.notify("Say why the gate is overridden.", type="warning")
                    return
                body = {"force": True, "reason": text}
                if await self.post(version, "promote", "Promoted", body):
                    dialog.close()

            with ui.row().classes("w-full justify-end"):
                ui.button("Cancel", on_click=dialog.close).props("flat")
                ui.button("Promote anyway", on_click=send).mark("force-promote")
        dialog.open()

    async def post(
        self, version: int, action: str, done: str, body: dict[str, Any] | None = None
    ) -> bool:
        try:
            answer = await self.ctx.api.post(f"/api/v1/models/{version}/{action}", body)
        except ApiError as exc:
            self.ctx.report.error(exc, "Model registry")
            return False
        ui.notify(f"{done}: version {answer['version']} is {answer['stage']}.", type="positive")
        await self.changed()
        return True
