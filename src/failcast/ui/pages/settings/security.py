"""The signed-in user's password and sessions."""

from __future__ import annotations

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.logic import formatting
from failcast.ui.pages.settings.tab import Tab


class SecurityTab(Tab):
    async def draw(self) -> None:
        api = self.ctx.api
        box = self.box
        box.clear()
        with box:
            with (
                card("Change password", "your other sessions end"),
                ui.row().classes("w-full items-end gap-3"),
            ):
                current = ui.input("Current password", password=True).classes("grow")
                new = ui.input("New password (12+)", password=True).classes("grow")

                async def change() -> None:
                    try:
                        await api.post(
                            "/api/v1/password/change",
                            {"current_password": current.value, "new_password": new.value},
                        )
                    except ApiError as exc:
                        self.ctx.report.error(exc, "Password not changed")
                        return
                    current.value = new.value = ""
                    ui.notify("Password changed.", type="positive")

                ui.button("Change", on_click=change)
            sessions = await api.get("/api/v1/sessions")
            with card("Sessions", "where you are signed in"):
                for s in sessions:
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        ui.icon("devices").classes("fc-muted")
                        ui.label(
                            f"{s['user_agent'] or s['ip'] or s['method']} · since"
                            f" {formatting.when(s['created_at'])[:16]} · last seen"
                            f" {formatting.when(s['last_seen_at'])[:16]}"
                        ).classes("grow text-sm")
                        if s["current"]:
                            ui.badge("this one").props("outline")
                        else:
                            ui.button("End", on_click=lambda i=s["id"]: self._end_session(i)).props(
                                "flat dense color=negative"
                            )

    async def _end_session(self, session_id: int) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/sessions/{session_id}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not end the session")
            return
        await self.draw()
        ui.notify("Session ended.", type="positive")
