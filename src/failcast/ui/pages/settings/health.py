"""Health scoring: component weights and per-metric thresholds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nicegui import ui

from failcast.health import DEFAULT_WEIGHTS, METRICS
from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.pages.settings.tab import Tab

THRESHOLD_KEYS = ("healthy", "warning", "critical", "zero")


def health_document(
    current: Mapping[str, Any],
    weights: Mapping[str, float],
    thresholds: Mapping[str, Mapping[str, float]],
) -> dict[str, Any]:
    """The org's health config with new weights and thresholds; per-service overrides and the
    org aggregation are kept. Thresholds equal to the built-in ones are left out."""
    changed = {
        metric: dict(values)
        for metric, values in thresholds.items()
        if metric in METRICS
        and any(float(values[k]) != getattr(METRICS[metric].default, k) for k in THRESHOLD_KEYS)
    }
    body = {k: v for k, v in current.items() if k not in ("weights", "thresholds")}
    return body | {"weights": dict(weights), "thresholds": changed}


def threshold_unit(unit: str, upper: float) -> str:
    """What a health threshold is written in. Rates and shares are fractions (0.05 is 5%);
    `pct` metrics are already percentages."""
    if unit == "%" or (not unit and upper == 1):
        return "fraction, 0.05 = 5%"
    if unit == "pct":
        return "%"
    return unit or "value"


class HealthTab(Tab):
    async def draw(self) -> None:
        box = self.box
        box.clear()
        current = await self.ctx.api.get("/api/v1/health/config")
        weights = {**DEFAULT_WEIGHTS, **(current.get("weights") or {})}
        saved = current.get("thresholds") or {}
        editable = self.ctx.can_write
        weight_inputs: dict[str, ui.number] = {}
        threshold_inputs: dict[str, dict[str, ui.number]] = {}
        with box:
            with (
                card("Component weights", "shared out among the components a service has"),
                ui.row().classes("w-full gap-3"),
            ):
                for component, weight in weights.items():
                    weight_inputs[component] = (
                        ui.number(component.replace("_", " "), value=weight, min=0, step=1)
                        .classes("w-36")
                        .props("" if editable else "readonly")
                    )
            with card("Thresholds", "score 100 at healthy, 70 at warning, 40 at critical, 0 at"
                      " zero"):  # fmt: skip
                for name, info in METRICS.items():
                    values = {k: getattr(info.default, k) for k in THRESHOLD_KEYS}
                    values |= {k: v for k, v in (saved.get(name) or {}).items() if v is not None}
                    with ui.row().classes("w-full items-end gap-2"):
                        ui.label(
                            f"{info.label} ({threshold_unit(info.unit, info.high)},"
                            f" worse when {info.worse})"
                        ).classes("text-sm w-full sm:w-64 shrink-0")
                        threshold_inputs[name] = {
                            k: ui.number(k, value=values[k])
                            .classes("w-24")
                            .props("dense" + ("" if editable else " readonly"))
                            for k in THRESHOLD_KEYS
                        }
            if not editable:
                return

            async def save() -> None:
                body = health_document(
                    current,
                    {k: float(i.value or 0) for k, i in weight_inputs.items()},
                    {m: {k: float(i.value or 0) for k, i in row.items()}
                     for m, row in threshold_inputs.items()},
                )  # fmt: skip
                try:
                    await self.ctx.api.put("/api/v1/health/config", body)
                except ApiError as exc:
                    self.ctx.report.error(exc, "Health config not saved")
                    return
                ui.notify("Saved: scores use it from the next refresh.", type="positive")

            ui.button("Save scoring", icon="save", on_click=save).mark("save-health")
