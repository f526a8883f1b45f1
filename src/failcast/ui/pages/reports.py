"""Reports and exports: the PDF reliability report (now, or any stored one), who gets it every
week, and metrics, alerts, incidents and predictions as CSV, JSON or Excel."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, page, page_body, signed_in_page
from failcast.ui.logic import formatting

EXPORT_KINDS = ["metrics", "alerts", "incidents", "predictions"]
EXPORT_FORMATS = {"csv": "CSV", "json": "JSON", "jsonl": "JSON lines", "xlsx": "Excel"}
EXPORT_DAYS = {1: "last 24 h", 7: "last 7 days", 30: "last 30 days"}


def export_params(fmt: str, days: int, service: str, metric: str, now: datetime) -> dict[str, Any]:
    """Query parameters of one export: a format, a period ending now, optional filters."""
    return {
        "format": fmt,
        "start": (now - timedelta(days=days)).isoformat(),
        "end": now.isoformat(),
        "service": service.strip() or None,
        "metric": metric.strip() or None,
    }


def export_filename(kind: str, fmt: str, now: datetime) -> str:
    return f"failcast-{kind}-{now:%Y%m%d-%H%M}.{fmt}"


def register_reports_page() -> None:
    @page("/reports", title="Reports · Failcast")
    async def reports(request: Request) -> None:
        ctx = await signed_in_page(request, "Reports", "/reports")
        if ctx is None:
            return
        ReportsPage(ctx).build()


class ReportsPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.signature: tuple[Any, ...] | None = None

    def build(self) -> None:
        with page_body():
            ui.label("Reports and exports").classes("fc-title")
            with ui.element("div").classes("fc-row2"):
                with card("Reliability report", "PDF: health, incidents, SLOs, predictions"):
                    with ui.row().classes("gap-2"):
                        ui.button("Download the last 7 days", icon="picture_as_pdf",
                                  on_click=self.download_now).mark("download-report")  # fmt: skip
                        if self.ctx.can_write:
                            ui.button("Store a copy", icon="save", on_click=self.store).props(
                                "outline"
                            )
                    ui.label("Stored reports").classes("fc-label mt-2")
                    self.stored = ui.column().classes("w-full gap-1").mark("stored-reports")
                with card("Weekly subscribers", "the report is mailed every week"):
                    if self.ctx.can_admin:
                        with ui.row().classes("w-full items-end gap-2"):
                            self.email = ui.input("Email").classes("grow").mark("subscriber")
                            ui.button("Add", icon="add", on_click=self.subscribe).mark(
                                "add-subscriber"
                            )
                    self.subscribers = ui.column().classes("w-full gap-1").mark("subscribers")
            with card("Export data", "streamed from the store; Excel times are UTC"):
                with ui.row().classes("w-full items-end gap-2"):
                    self.kind = ui.select(EXPORT_KINDS, value="alerts", label="What").classes(
                        "w-36"
                    )
                    self.days = ui.select(EXPORT_DAYS, value=7, label="Period").classes("w-36")
                    self.service = ui.input("Service (optional)").classes("w-40")
                    self.metric = ui.input("Metric (metrics only)").classes("w-44")
                with ui.row().classes("gap-2"):
                    for fmt, label in EXPORT_FORMATS.items():
                        ui.button(label, icon="download",
                                  on_click=lambda f=fmt: self.export(f)).props(
                            "outline").mark(f"export-{fmt}")  # fmt: skip
        self.ctx.every(self.refresh)

    async def refresh(self) -> None:
        api = self.ctx.api
        stored = (await api.get("/api/v1/reports"))["reports"]
        subscribers = (
            (await api.get("/api/v1/reports/subscriptions"))["subscribers"]
            if self.ctx.can_admin
            else []
        )
        signature = (tuple(r["id"] for r in stored), tuple(s["id"] for s in subscribers))
        if signature == self.signature:
            return
        self.signature = signature
        self.stored.clear()
        with self.stored:
            if not stored:
                ui.label("None stored yet; one is made every week.").classes("fc-muted text-sm")
            for report in stored[:20]:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.icon("description").classes("fc-muted")
                    ui.label(
                        f"{formatting.when(report['period_start'])[:10]} to"
                        f" {formatting.when(report['period_end'])[:10]} ({report['trigger']},"
                        f" {report['size'] / 1024:.0f} kB)"
                    ).classes("grow text-sm")
                    ui.button(icon="download",
                              on_click=lambda r=report: self.download_stored(r)).props(
                        "flat round dense")  # fmt: skip
        self.subscribers.clear()
        with self.subscribers:
            if not self.ctx.can_admin:
                ui.label("Owners and admins manage subscribers.").classes("fc-muted text-sm")
            elif not subscribers:
                ui.label("Nobody gets the weekly report yet.").classes("fc-muted text-sm")
            for sub in subscribers:
                with ui.row().classes("w-full items-center gap-2 no-wrap"):
                    ui.icon("mail").classes("fc-muted")
                    ui.label(sub["email"]).classes("grow text-sm")
                    ui.button(icon="delete",
                              on_click=lambda s=sub: self.unsubscribe(s)).props(
                        "flat round dense")  # fmt: skip

    async def _download(
        self, path: str, filename: str, params: dict[str, Any] | None = None
    ) -> None:
        note = ui.notification("Preparing the file…", spinner=True, timeout=None)
        try:
            content, media_type = await self.ctx.api.download(path, params)
        except ApiError as exc:
            self.ctx.report.error(exc, "Download")
            return
        finally:
            note.dismiss()
        ui.download.content(content, filename, media_type)

    async def download_now(self) -> None:
        await self._download(
            "/api/v1/reports/reliability.pdf", f"failcast-reliability-{time.strftime('%Y%m%d')}.pdf"
        )

    async def download_stored(self, report: dict[str, Any]) -> None:
        await self._download(
            f"/api/v1/reports/{report['id']}.pdf", f"failcast-report-{report['id']}.pdf"
        )

    async def store(self) -> None:
        try:
            await self.ctx.api.post("/api/v1/reports", {})
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not store a report")
            return
        await self.refresh()
        ui.notify("Report stored.", type="positive")

    async def subscribe(self) -> None:
        try:
            await self.ctx.api.post(
                "/api/v1/reports/subscriptions", {"email": (self.email.value or "").strip()}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not add the subscriber")
            return
        subscriber = self.email.value
        self.email.value = ""
        await self.refresh()
        ui.notify(f"{subscriber} gets the weekly report.", type="positive")

    async def unsubscribe(self, sub: dict[str, Any]) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/reports/subscriptions/{sub['id']}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not remove the subscriber")
            return
        await self.refresh()

    async def export(self, fmt: str) -> None:
        now = datetime.now(UTC).replace(microsecond=0)
        kind = str(self.kind.value)
        params = export_params(
            fmt, int(self.days.value), self.service.value or "", self.metric.value or "", now
        )
        await self._download(f"/api/v1/export/{kind}", export_filename(kind, fmt, now), params)
