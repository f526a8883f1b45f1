"""Topology: the dependency graph coloured by health, cascade risk, the critical path and the
blast radius of each service, as the topology API computes them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui import charts
from failcast.ui.layout import PageContext, card, empty_state, page, page_body, signed_in_page
from failcast.ui.logic import formatting, graph_view

SOURCES = {
    "declared": "the declared topology",
    "simulated": "the simulated fleet",
    "catalog": "the service catalogue",
}
# The blast radius only changes with the graph itself.
BLAST_EVERY_S = 30.0


def register_topology_page() -> None:
    @page("/topology", title="Topology · Failcast")
    async def topology(request: Request) -> None:
        ctx = await signed_in_page(request, "Topology", "/topology")
        if ctx is None:
            return
        TopologyPage(ctx).build()


class TopologyPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.signature: tuple[Any, ...] | None = None
        self.blast_at = 0.0
        self.blast: dict[str, Any] | None = None

    def build(self) -> None:
        with page_body():
            ui.label("Dependency topology").classes("fc-title")
            self.source = ui.label("").classes("fc-muted text-sm")
            self.body = ui.column().classes("w-full gap-4")
        self.ctx.every(self.refresh)

    async def refresh(self) -> None:
        api = self.ctx.api
        graph, cascade, critical = await asyncio.gather(
            api.get("/api/v1/topology/graph"),
            api.get("/api/v1/topology/cascade", {"horizon": 24}),
            api.get("/api/v1/topology/critical-path"),
        )
        if not graph.get("nodes"):
            if self.signature != ("empty",):
                self.signature = ("empty",)
                self.body.clear()
                with self.body, card():
                    empty_state(
                        "hub",
                        "No dependency graph yet",
                        "Declare who calls whom in a `topology.yaml` (PUT /api/v1/topology, see"
                        " docs/concepts.md), or start the simulated fleet on the **Chaos** page"
                        " to explore a ready-made one.",
                        marker="topology-empty",
                    )
            return
        if time.monotonic() - self.blast_at > BLAST_EVERY_S:
            self.blast_at = time.monotonic()
            self.blast = await api.get("/api/v1/topology/blast-radius")
        view = graph_view.topology_view(graph, cascade, critical)
        self.source.text = (
            f"From {SOURCES.get(graph['source'], graph['source'])}; predictions:"
            f" {cascade['predictions']}; live every 2 s."
        )
        signature = (
            tuple((n["id"], n["health_status"]) for n in view.nodes),
            view.path,
            tuple((n, round(p, 2)) for n, p in sorted(view.cascade.items())),
        )
        if signature == self.signature:
            return
        self.signature = signature
        self._draw(view, cascade, critical)

    def _draw(
        self, view: graph_view.TopologyView, cascade: dict[str, Any], critical: dict[str, Any]
    ) -> None:
        self.body.clear()
        with self.body:
            with card("Graph", "colour: health · size: tier · thick violet: critical path"):
                ui.echart(charts.topology_chart(view, self.ctx.palette)).classes(
                    "w-full h-[520px]"
                ).mark("topology-graph")
            with ui.element("div").classes("fc-row2"):
                with card("Cascade risk", "own + inherited P(failure), 24 h"):
                    self._cascade(cascade)
                with card("Critical path", "slowest chain of calls from an entry point"):
                    self._critical(critical)
            with card("Blast radius", "who is affected when a service fails"):
                self._blast()

    @staticmethod
    def _cascade(cascade: dict[str, Any]) -> None:
        ranked = sorted(cascade["services"], key=lambda r: -float(r["probability"]))
        ui.table(
            columns=[
                {"name": "s", "label": "Service", "field": "s", "align": "left"},
                {"name": "p", "label": "Total", "field": "p"},
                {"name": "o", "label": "Own", "field": "o"},
                {"name": "from", "label": "Own from", "field": "from", "align": "left"},
                {"name": "r", "label": "Through", "field": "r", "align": "left"},
            ],
            rows=[
                {
                    "s": r["service"],
                    "p": f"{r['probability']:.0%}",
                    "o": f"{r['own_probability']:.0%}",
                    "from": r["own_source"],
                    "r": " → ".join(r["root_path"][1:]) or "itself",
                }
                for r in ranked[:12]
            ],
        ).props("dense flat").classes("w-full").mark("cascade")

    @staticmethod
    def _critical(critical: dict[str, Any]) -> None:
        if not critical.get("path"):
            ui.label("Needs latency metrics (latency_p50_ms) for the services.").classes(
                "fc-muted text-sm"
            )
            return
        ui.label(
            f"{critical['latency_ms']:.0f} ms end to end at {critical['percentile']} from"
            f" {critical['entry']}"
        ).classes("font-semibold").mark("critical-path")
        for step in critical["steps"]:
            with ui.row().classes("items-center gap-2"):
                ui.icon("south").classes("fc-muted")
                ui.label(step["service"]).classes("text-sm")
                ui.label(f"{step['self_ms']:.0f} ms own · {step['share']:.0%}").classes(
                    "fc-muted text-xs"
                )
        if critical.get("without_latency"):
            ui.label("No latency yet for: " + ", ".join(critical["without_latency"][:8])).classes(
                "fc-muted text-xs"
            )

    def _blast(self) -> None:
        items = sorted(
            (self.blast or {}).get("services") or [],
            key=lambda b: (-float(b["expected_traffic_loss"]), -int(b["count"])),
        )
        # Which share of the entry points' traffic can reach a service says nothing with one
        # entry point (always 100%): then only the traffic expected to be lost is shown.
        reach = len({round(float(b["traffic_share"]), 3) for b in items}) > 1
        columns = [
            {"name": "s", "label": "If this fails", "field": "s", "align": "left"},
            {"name": "n", "label": "Services hit", "field": "n"},
            {"name": "l", "label": "User traffic lost", "field": "l"},
        ]
        if reach:
            columns.append({"name": "t", "label": "Traffic that reaches it", "field": "t"})
        columns.append({"name": "a", "label": "Affected", "field": "a", "align": "left"})
        ui.table(
            columns=columns,
            rows=[
                {
                    "s": b["service"],
                    "n": b["count"],
                    "t": formatting.fmt_value(float(b["traffic_share"]), "fraction"),
                    "l": formatting.fmt_value(float(b["expected_traffic_loss"]), "fraction"),
                    "a": ", ".join(b["affected"][:6]) + (" …" if len(b["affected"]) > 6 else ""),
                }
                for b in items[:15]
            ],
            pagination=8,
        ).props("dense flat").classes("w-full").mark("blast-radius")
