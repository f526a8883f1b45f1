"""Members and invitations: invite, change a role, remove, revoke an invitation."""

from __future__ import annotations

from typing import Any

from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import card
from failcast.ui.logic import formatting
from failcast.ui.pages.settings.tab import Tab

ROLES = ["viewer", "member", "admin", "owner"]


class MembersTab(Tab):
    async def draw(self) -> None:
        api = self.ctx.api
        box = self.box
        box.clear()
        members = await api.get("/api/v1/orgs/current/members")
        invitations = (
            await api.get("/api/v1/orgs/current/invitations") if self.ctx.can_admin else []
        )
        me = self.ctx.profile["user"]["id"]
        with box:
            if self.ctx.can_admin:
                with (
                    card("Invite someone", "they get an email with a link to join"),
                    ui.row().classes("w-full items-end gap-3"),
                ):
                    email = ui.input("Email").classes("grow min-w-[200px]").mark("invite-email")
                    role = ui.select(ROLES, value="member", label="Role").classes("w-32")

                    async def invite() -> None:
                        try:
                            await api.post(
                                "/api/v1/orgs/current/invitations",
                                {"email": email.value, "role": role.value},
                            )
                        except ApiError as exc:
                            self.ctx.report.error(exc, "Could not invite")
                            return
                        await self.draw()
                        ui.notify(f"Invitation sent to {email.value}", type="positive")

                    ui.button("Invite", icon="send", on_click=invite).mark("invite")
            with card("Members"):
                for member in members:
                    with ui.row().classes("w-full items-center gap-2 no-wrap"):
                        ui.icon("person").classes("fc-muted")
                        ui.label(f"{member['name'] or member['email']}").classes("text-sm")
                        ui.label(member["email"]).classes("fc-muted text-xs grow")
                        if self.ctx.can_admin and member["user_id"] != me:
                            ui.select(
                                ROLES, value=member["role"],
                                on_change=lambda e, m=member: self._role(m, e.value),
                            ).props("dense outlined").classes("w-28")  # fmt: skip
                            ui.button(icon="person_remove",
                                      on_click=lambda m=member: self._remove(m)).props(
                                "flat round dense color=negative").tooltip("Remove")  # fmt: skip
                        else:
                            ui.badge(member["role"]).props("outline")
            if self.ctx.can_admin:
                with card("Invitations"):
                    pending = [i for i in invitations if i["status"] == "pending"]
                    if not pending:
                        ui.label("No pending invitation.").classes("fc-muted text-sm")
                    for inv in pending:
                        with ui.row().classes("w-full items-center gap-2 no-wrap"):
                            ui.icon("mail").classes("fc-muted")
                            ui.label(f"{inv['email']} as {inv['role']}").classes("grow text-sm")
                            ui.label(f"expires {formatting.when(inv['expires_at'])[:10]}").classes(
                                "fc-muted text-xs"
                            )
                            ui.button(icon="cancel",
                                      on_click=lambda i=inv: self._revoke_invite(i)).props(
                                "flat round dense").tooltip("Revoke")  # fmt: skip

    async def _role(self, member: dict[str, Any], role: str) -> None:
        if role == member["role"]:
            return
        try:
            await self.ctx.api.patch(
                f"/api/v1/orgs/current/members/{member['user_id']}", {"role": role}
            )
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not change the role")
            await self.draw()
            return
        await self.draw()
        ui.notify(f"{member['email']} is now {role}.", type="positive")

    async def _remove(self, member: dict[str, Any]) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/orgs/current/members/{member['user_id']}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not remove the member")
            return
        await self.draw()
        ui.notify(f"Removed {member['email']}.", type="positive")

    async def _revoke_invite(self, invitation: dict[str, Any]) -> None:
        try:
            await self.ctx.api.delete(f"/api/v1/orgs/current/invitations/{invitation['id']}")
        except ApiError as exc:
            self.ctx.report.error(exc, "Could not revoke the invitation")
            return
        await self.draw()
