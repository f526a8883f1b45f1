"""One alert in a dialog: what fired and with what value, what to do, and its timeline."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext
from failcast.ui.logic import formatting


def condition_text(context: dict[str, Any]) -> str:
    """What fired, with the value that fired it: `avg(x[5m]) > 200 (was 250)`."""
    what = context.get("what") or {}
    if not what.get("condition"):
        return ""
    value = what.get("value")
    seen = f" (was {value:.4g})" if isinstance(value, int | float) else ""
    return f"{what['condition']}{seen}"


def context_lines(context: dict[str, Any]) -> list[str]:
    """An alert's context as sentences: condition, time to impact, factors and MTTR."""
    lines = []
    condition = condition_text(context)
    if condition:
        lines.append(f"Fired on: {condition}")
    hours = context.get("time_to_impact_hours")
    if isinstance(hours, int | float):
        lines.append(f"Time to impact: about {hours:.1f} h")
    factors = [f for f in context.get("factors") or [] if f.get("name")]
    if factors:
        lines.append("Factors: " + "; ".join(str(f["name"]) for f in factors[:4]))
    mttr = context.get("mttr") or {}
    if isinstance(mttr.get("median_minutes"), int | float):
        lines.append(f"Similar incidents took a median {mttr['median_minutes']:.0f} min to fix")
    return lines


async def show_alert(ctx: PageContext, alert_id: int) -> None:
    """One alert with its timeline: what fired, every change and comment."""
    try:
        detail = await ctx.api.get(f"/api/v1/alerts/{alert_id}")
    except ApiError as exc:
        ctx.report.error(exc, "Alert")
        return
    context = detail.get("context") or {}
    with ui.dialog() as dialog, ui.card().classes("fc-card p-4 gap-2 w-full max-w-2xl"):
        ui.label(detail["title"]).classes("text-lg font-semibold")
        ui.label(
            f"{detail['severity']} · {detail['state']} · {detail.get('service') or '—'}"
            f" · labels {', '.join(f'{k}={v}' for k, v in detail['labels'].items()) or '—'}"
        ).classes("fc-muted text-sm")
        for line in context_lines(context):
            ui.label(line).classes("text-sm")
        steps = context.get("recommendations") or []
        if steps:
            ui.label("What to do").classes("fc-label mt-2")
            for step in steps:
                ui.label(f"• {step}").classes("text-sm")
        ui.label("Timeline").classes("fc-label mt-2")
        with ui.column().classes("w-full gap-1").mark("timeline"):
            for event in detail.get("timeline") or []:
                with ui.row().classes("w-full gap-2 no-wrap items-start"):
                    ui.label(formatting.when(event["at"])).classes("fc-muted text-xs w-36 shrink-0")
                    ui.badge(event["kind"]).props("outline")
                    ui.label(
                        f"{event['message']}"
                        + (f" — {event['actor']}" if event.get("actor") else "")
                    ).classes("text-sm")
        ui.button("Close", on_click=dialog.close).props("flat")
    dialog.open()
