"""SLOs (error budget burn-down, burn-rate tiers) and the failure-model registry (backtest
figures, reliability diagram, promote and roll back)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui import charts
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, page_body, signed_in_page
from failcast.ui.logic import budgets, formatting
from failcast.ui.theme import status_colour

# The burn-down is the SLO status asked at these many past times over this span, plus now.
BURN_DOWN_POINTS = 12
BURN_DOWN_SPAN_S = 7 * 86400
# Past points never change; they are asked again only this often, to slide the span along.
BURN_DOWN_EVERY_S = 600.0
# Where a new model version can learn from, for an org that runs the simulated fleet.
TRAINING_SOURCES = {
    "simulator": "simulated history",
    "database": "stored metrics and incidents",
}
BACKTEST_KEYS = ("precision", "recall", "f1", "auc_pr", "brier", "lead_h_median",
                 "false_alarms_per_day")  # fmt: skip


def training_notice(answer: Mapping[str, Any]) -> str:
    """What the page says while a queued training runs."""
    history = (
        f"{answer['days']} days of simulated history"
        if answer["source"] == "simulator"
        else f"the last {answer['days']} days of stored metrics and incidents"
    )
    return f"Training on {history}…"


def burn_down_times(now: float, points: int = BURN_DOWN_POINTS) -> list[float]:
    """Evenly spaced past instants, oldest first, ending one step before `now`."""
    step = BURN_DOWN_SPAN_S / points
    return [now - BURN_DOWN_SPAN_S + i * step for i in range(points)]


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


def slo_definition(
    name: str, service: str, objective_pct: float, kind: str, value: float
) -> dict[str, Any]:
    """An SLO body from the page's small form: p99 latency under a bound, or an error rate."""
    sli: dict[str, Any]
    if kind == "latency":
        sli = {"type": "latency", "threshold_ms": value, "method": "intervals",
               "percentile": 99.0}  # fmt: skip
    else:
        sli = {"type": "ratio", "ratio": {"query": "error_rate"}, "counts": "bad"}
    return {
        "name": name,
        "service": service,
        "objective": round(objective_pct / 100.0, 9),
        "sli": sli,
    }


def register_reliability_pages() -> None:
    @ui.page("/slos", title="SLOs · Failcast")
    async def slos(request: Request) -> None:
        ctx = await signed_in_page(request, "SLOs", "/slos")
        if ctx is None:
            return
        SloPage(ctx).build()

    @ui.page("/models", title="Models · Failcast")
    async def models(request: Request) -> None:
        ctx = await signed_in_page(request, "Models", "/models")
        if ctx is None:
            return
        fleet = await ctx.api.get("/api/v1/chaos/fleet")
        ModelPage(ctx, simulated=bool(fleet.get("enabled"))).build()


class SloPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.signature: tuple[Any, ...] | None = None
        self.history: dict[int, list[tuple[float, Mapping[str, Any]]]] = {}
        self.history_at = 0.0

    def build(self) -> None:
        with page_body():
            ui.label("Service level objectives").classes("fc-title")
            if self.ctx.can_write:
                with card(
                    "Add an SLO", "or import Sloth / OpenSLO YAML at POST /api/v1/slos/import"
                ):
                    self._form()
            self.box = ui.column().classes("w-full gap-4").mark("slo-list")
        self.ctx.every(self.refresh)

    def _form(self) -> None:
        with ui.row().classes("w-full items-end gap-2"):
            name = ui.input("Name").classes("w-44").mark("slo-name")
            service = ui.input("Service").classes("w-40").mark("slo-service")
            objective = ui.number("Objective %", value=99.9, min=50, max=99.999, step=0.1)
            objective.classes("w-32")
            kind = ui.select({"latency": "p99 latency under (ms)", "errors": "error rate"},
                             value="latency", label="Measure").classes("w-52")  # fmt: skip
            bound = ui.number("Bound (ms)", value=200).classes("w-28")
            kind.on_value_change(lambda e: bound.set_visibility(e.value == "latency"))

            async def add() -> None:
                body = slo_definition(
                    (name.value or "").strip(), (service.value or "").strip(),
                    float(objective.value or 99.9), kind.value, float(bound.value or 0),
                )  # fmt: skip
                try:
                    await self.ctx.api.post("/api/v1/slos", body)
                except ApiError as exc:
                    self.ctx.report.error(exc, "Could not add the SLO")
                    return
                ui.notify(f"SLO {body['name']} added.", type="positive")
                self.history_at = 0.0
                await self.refresh()

            ui.button("Add", icon="add", on_click=add).mark("add-slo")

    async def refresh(self) -> None:
        api = self.ctx.api
        now = time.time()
        statuses = await api.get("/api/v1/slos/status")
        if now - self.history_at > BURN_DOWN_EVERY_S:
            self.history_at = now
            answers = await asyncio.gather(
                *(api.get("/api/v1/slos/status", {"at": _iso(t)}) for t in burn_down_times(now))
            )
            self.history = {}
            for t, answer in zip(burn_down_times(now), answers, strict=True):
                for item in answer:
                    self.history.setdefault(int(item["id"]), []).append((t, item))
        signature = tuple(
            (
                s["id"],
                budgets.burn_status(s),
                round(((s.get("budget") or {}).get("remaining") or 0), 4),
            )
            for s in statuses
        )
        if signature == self.signature:
            return
        self.signature = signature
        self.box.clear()
        with self.box:
            if not statuses:
                with card():
                    empty_state(
                        "track_changes",
                        "No SLOs yet",
                        "Add one above, or import `slos.yaml` (Sloth and OpenSLO files work as"
                        " they are). Their error budgets and burn rates appear here.",
                    )
                return
            with ui.element("div").classes("fc-row2"):
                for status in statuses:
                    self._slo(status, now)

    def _slo(self, slo: Mapping[str, Any], now: float) -> None:
        state, text = budgets.burn_status(slo)
        budget = slo.get("budget") or {}
        with card(str(slo["name"]), f"{slo['service']} · {slo['objective']:.3%} over"
                  f" {slo['window_days']} days"):  # fmt: skip
            with ui.row().classes("items-center gap-2"):
                ui.html(f'<span class="fc-dot" style="background:{status_colour(state)}"></span>')
                ui.label(text).classes("font-semibold").mark(f"slo-{slo['name']}")
                hours = slo.get("hours_to_exhaustion")
                ui.label(
                    f"budget left {formatting.fmt_pct(budget.get('remaining'), 1)} · 1 h burn"
                    f" {formatting.fmt_num(slo.get('burn_rate_1h'))}x"
                    + (f" · exhausted in {hours:.0f} h at this rate" if hours is not None else "")
                ).classes("fc-muted text-xs")
            points = budgets.budget_points([*self.history.get(int(slo["id"]), []), (now, slo)])
            if len(points) >= 2:
                ui.echart(charts.burn_down(points, self.ctx.palette)).classes("h-44 w-full")
            else:
                ui.label("The burn-down appears once the SLO has data at two times.").classes(
                    "fc-muted text-xs"
                )
            tiers = slo.get("tiers") or []
            if tiers:
                ui.table(
                    columns=[
                        {"name": k, "label": label, "field": k, "align": "left"}
                        for k, label in (("tier", "Tier"), ("sev", "Pages?"),
                                         ("limit", "Burn limit"), ("long", "Long window"),
                                         ("short", "Short window"), ("state", "State"))
                    ],
                    rows=[
                        {"tier": t["name"], "sev": t["severity"],
                         "limit": f"{t['burn_rate_threshold']:g}x",
                         "long": f"{t['long_burn']:.2f}x / {t['long_window_minutes']} min",
                         "short": f"{t['short_burn']:.2f}x / {t['short_window_minutes']} min",
                         "state": "firing" if t["firing"] else "held by guard" if t["guarded"]
                         else "burning" if t["burning"] else "ok"}
                        for t in tiers
                    ],
                ).props("dense flat").classes("w-full")  # fmt: skip


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


class ModelPage:
    def __init__(self, ctx: PageContext, *, simulated: bool = False) -> None:
        self.ctx = ctx
        # Whether the org runs the simulated fleet, whose simulated history can train a model.
        self.simulated = simulated
        self.signature: tuple[Any, ...] | None = None
        self.job_signature: tuple[Any, ...] | None = None

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
                self._model(model, detail)

    def _model(self, model: Mapping[str, Any], detail: Mapping[str, Any]) -> None:
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
        self.signature = None
        await self.refresh()
        return True

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
