"""The SLOs page: add an SLO, and each one's error budget burn-down and burn-rate tiers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from nicegui import ui

from failcast.ui import charts
from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, page_body
from failcast.ui.logic import budgets, formatting
from failcast.ui.theme import status_colour

# The burn-down is the SLO status asked at these many past times over this span, plus now.
BURN_DOWN_POINTS = 12
BURN_DOWN_SPAN_S = 7 * 86400
# Past points never change; they are asked again only this often, to slide the span along.
BURN_DOWN_EVERY_S = 600.0


def burn_down_times(now: float, points: int = BURN_DOWN_POINTS) -> list[float]:
    """Evenly spaced past instants, oldest first, ending one step before `now`."""
    step = BURN_DOWN_SPAN_S / points
    return [now - BURN_DOWN_SPAN_S + i * step for i in range(points)]


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


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


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
