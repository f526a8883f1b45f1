"""The plan, this month's usage against it, the other plans, checkout and the billing portal."""

from __future__ import annotations

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card, public_url
from failcast.ui.logic import formatting
from failcast.ui.pages.settings.tab import Tab


class BillingTab(Tab):
    async def draw(self) -> None:
        api = self.ctx.api
        box = self.box
        box.clear()
        billing = await api.get("/api/v1/billing")
        plans = (await api.get("/api/v1/plans"))["plans"]
        usage, limits = billing["usage"], billing["limits"]
        with box:
            with card("Plan", f"subscription {billing['status']}"):
                plan = billing["plan"]
                ui.label(
                    f"{plan['name']} · {formatting.fmt_money(plan['price_usd_per_month'])}/month"
                )
                ui.label(f"Usage resets {formatting.when(billing['resets_at'])[:10]}").classes(
                    "fc-muted text-xs"
                )
                if billing.get("grace_until"):
                    ui.label(
                        "Payment failed: paid features stop"
                        f" {formatting.when(billing['grace_until'])}"
                    ).classes("text-negative text-sm")
                if not billing.get("metered", True):
                    # Nothing is counted against a plan, so "10 of 5" or "0 predictions" would
                    # be wrong: say so and show only what is known.
                    with ui.column().classes("gap-1").mark("usage"):
                        ui.label(f"Services: {usage['services']:,}").classes("font-bold")
                        ui.label(
                            "Billing is off on this installation: no plan limit applies and"
                            " predictions and samples are not metered."
                        ).classes("fc-muted text-sm")
                    return
                with ui.row().classes("w-full gap-8").mark("usage"):
                    for label, used, limit in (
                        ("Services", usage["services"], limits["max_services"]),
                        ("Predictions this month", usage["predictions"],
                         limits["max_predictions_per_month"]),
                        ("Samples this month", usage["samples"], None),
                    ):  # fmt: skip
                        with ui.column().classes("gap-1 min-w-[160px]"):
                            ui.label(label).classes("fc-label")
                            ui.label(f"{used:,}" + (f" of {limit:,}" if limit else "")).classes(
                                "font-bold"
                            )
                            if limit:
                                ui.linear_progress(value=min(1.0, used / limit), show_value=False)
                if self.ctx.role == "owner" and billing["has_customer"]:
                    ui.button("Invoices and payment method", icon="receipt_long",
                              on_click=self._portal).props("outline")  # fmt: skip
            with card("Plans"), ui.element("div").classes("fc-grid"):
                for option in plans:
                    with ui.card().classes("fc-card p-3 gap-1"):
                        ui.label(option["name"]).classes("font-semibold")
                        ui.label(
                            "custom pricing"
                            if option["custom"]
                            else f"{formatting.fmt_money(option['price_usd_per_month'])}/month"
                        ).classes("text-lg font-bold")
                        ui.label(
                            f"{option['max_services'] or 'unlimited'} services ·"
                            f" {option['max_predictions_per_month'] or 'unlimited'} predictions"
                            f" · {option['retention_days'] or 'unlimited'} days kept"
                        ).classes("fc-muted text-xs")
                        if option["code"] == plan["code"]:
                            ui.badge("current").props("outline")
                        elif self.ctx.role == "owner" and not option["custom"]:
                            ui.button(
                                f"Upgrade to {option['name']}",
                                on_click=lambda c=option["code"]: self._checkout(c),
                            ).props("dense").mark(f"upgrade-{option['code']}")

    async def _checkout(self, plan: str) -> None:
        back = public_url(self.ctx).rstrip("/") + "/app/settings?tab=billing"
        try:
            answer = await self.ctx.api.post(
                "/api/v1/billing/checkout", {"plan": plan, "success_url": back, "cancel_url": back}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Checkout")
            return
        ui.navigate.to(answer["url"])

    async def _portal(self) -> None:
        back = public_url(self.ctx).rstrip("/") + "/app/settings?tab=billing"
        try:
            answer = await self.ctx.api.post("/api/v1/billing/portal", {"return_url": back})
        except ApiError as exc:
            self.ctx.report.error(exc, "Billing portal")
            return
        ui.navigate.to(answer["url"])
