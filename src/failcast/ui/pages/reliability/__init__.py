"""SLOs (error budget burn-down, burn-rate tiers) and the failure-model registry (backtest
figures, reliability diagram, promote and roll back), a page and a module each."""

from __future__ import annotations

from fastapi import Request

from failcast.ui.layout import page, signed_in_page
from failcast.ui.pages.reliability.models import ModelPage
from failcast.ui.pages.reliability.slos import SloPage


def register_reliability_pages() -> None:
    @page("/slos", title="SLOs · Failcast")
    async def slos(request: Request) -> None:
        ctx = await signed_in_page(request, "SLOs", "/slos")
        if ctx is None:
            return
        SloPage(ctx).build()

    @page("/models", title="Models · Failcast")
    async def models(request: Request) -> None:
        ctx = await signed_in_page(request, "Models", "/models")
        if ctx is None:
            return
        fleet = await ctx.api.get("/api/v1/chaos/fleet")
        ModelPage(ctx, simulated=bool(fleet.get("enabled"))).build()
