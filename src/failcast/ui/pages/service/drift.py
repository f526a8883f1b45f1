"""Drift of an ML model's features: the last 6 h against the 7 days before."""

from __future__ import annotations

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card
from failcast.ui.logic import formatting


class DriftCard:
    def __init__(self, ctx: PageContext, service: str) -> None:
        self.ctx = ctx
        self.service = service

    def build(self) -> None:
        with card("Drift", "last 6 h against the 7 days before"):
            self.box = ui.column().classes("w-full gap-1").mark("drift")

    async def draw(self) -> None:
        try:
            answer = await self.ctx.api.get("/api/v1/drift", {"service": self.service})
        except ApiError as exc:
            if exc.status not in (404, 409, 422):
                raise
            self.box.clear()
            with self.box:
                ui.label(f"No drift report: {exc.message}").classes("fc-muted text-sm")
            return
        features = answer.get("features") or []
        self.box.clear()
        with self.box:
            drifted = [f for f in features if f["drifted"]]
            ui.label(
                f"{len(drifted)} of {len(features)} features drifted"
                if features
                else "No features logged for this model yet (POST /api/v1/ml/predictions)."
            ).classes("text-sm font-semibold")
            if features:
                ui.table(
                    columns=[
                        {"name": k, "label": label, "field": k, "align": "left"}
                        for k, label in (("feature", "Feature"), ("psi", "PSI"), ("ks", "KS"),
                                         ("js", "Jensen-Shannon"), ("drifted", "Drifted"))
                    ],
                    rows=[
                        {"feature": f["feature"], "psi": formatting.fmt_num(f["psi"]),
                         "ks": formatting.fmt_num(f["ks"]),
                         "js": formatting.fmt_num(f["jensen_shannon"]),
                         "drifted": "yes" if f["drifted"] else "no"}
                        for f in features[:12]
                    ],
                ).props("dense flat").classes("w-full")  # fmt: skip
