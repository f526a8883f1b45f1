"""Teams: who owns which services, where their alerts go, who is in them, and whether members
see only their teams' services. Everyone reads; owners and admins change."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from nicegui import ui

from failcast.ui.api import ApiError
from failcast.ui.layout import PageContext, card, empty_state, page, page_body, signed_in_page


def team_rows(teams: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Teams as the page lists them: names, comma-separated services, channels and members."""
    return [
        {
            "id": t["id"],
            "name": t["name"],
            "description": t["description"],
            "services": ", ".join(t["services"]) or "none",
            "channels": ", ".join(t["channels"]) or "none",
            "members": ", ".join(m["email"] for m in t["members"]) or "nobody",
        }
        for t in teams
    ]


def register_teams_page() -> None:
    @page("/teams", title="Teams · Failcast")
    async def teams(request: Request) -> None:
        ctx = await signed_in_page(request, "Teams", "/teams")
        if ctx is None:
            return
        TeamsPage(ctx).build()


class TeamsPage:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        self.signature: str | None = None
        self.services: list[str] = []
        self.channels: list[str] = []
        self.members: dict[int, str] = {}
        self.restricted: bool | None = None

    def build(self) -> None:
        with page_body():
            ui.label("Teams").classes("fc-title")
            with card("Visibility", "owners and admins always see everything"):
                self.restrict = ui.switch(
                    "Members and viewers see only their teams' services and what is about them",
                    on_change=self.set_restricted,
                ).mark("restrict-to-teams")
                if not self.ctx.can_admin:
                    self.restrict.disable()
            if self.ctx.can_admin:
                with (
                    card("New team", "its services' alerts go to its channels"),
                    ui.row().classes("w-full items-end gap-2"),
                ):
                    self.name = ui.input("Name").classes("w-48").mark("team-name")
                    self.pick_services = (
                        ui.select([], multiple=True, label="Services")
                        .classes("w-72")
                        .mark("team-services")
                    )
                    self.pick_channels = (
                        ui.select([], multiple=True, label="Channels")
                        .classes("w-60")
                        .mark("team-channels")
                    )
                    ui.button("Create", icon="add", on_click=self.create).mark("create-team")
            self.list = ui.column().classes("w-full gap-3").mark("teams")
        self.ctx.every(self.refresh)

    async def refresh(self) -> None:
        api = self.ctx.api
        teams = await api.get("/api/v1/teams")
        settings = await api.get("/api/v1/team-settings")
        if self.ctx.can_admin:
            self.services = [s["name"] for s in await api.get("/api/v1/services")]
            self.channels = [c["name"] for c in await api.get("/api/v1/channels")]
            self.members = {
                m["user_id"]: m["email"] for m in await api.get("/api/v1/orgs/current/members")
            }
            self.pick_services.set_options(self.services, value=self.pick_services.value)
            self.pick_channels.set_options(self.channels, value=self.pick_channels.value)
        signature = json.dumps([teams, settings, self.services, self.channels, self.members])
        if signature == self.signature:
            return
        self.signature = signature
        self.restricted = bool(settings["restrict_members_to_teams"])
        self.restrict.set_value(self.restricted)
        self.list.clear()
        with self.list:
            if not teams:
                empty_state(
                    "groups",
                    "No teams yet",
                    "A team owns services, has members and receives its services' alerts.",
                    code="failcast team create --set name=payments --set 'services=[checkout]'",
                    marker="no-teams",
                )
            for team in teams:
                self._team(team)

    def _team(self, team: dict[str, Any]) -> None:
        row = team_rows([team])[0]
        with card(team["name"], team["description"] or None):
            ui.label(f"Services: {row['services']}").classes("text-sm").mark(
                f"team-{team['name']}-services"
            )
            ui.label(f"Channels: {row['channels']}").classes("text-sm")
            with ui.row().classes("items-center gap-1"):
                ui.label("Members:").classes("text-sm")
                if not team["members"]:
                    ui.label("nobody").classes("fc-muted text-sm")
                for member in team["members"]:
                    chip = ui.chip(member["email"], removable=self.ctx.can_admin)
                    chip.on("remove", lambda _, t=team, m=member: self.remove_member(t, m))
            if not self.ctx.can_admin:
                return
            with ui.row().classes("w-full items-end gap-2"):
                outside = {
                    uid: email
                    for uid, email in self.members.items()
                    if uid not in {m["user_id"] for m in team["members"]}
                }
                add = ui.select(outside, label="Add a member").classes("w-60")
                ui.button(
                    icon="person_add", on_click=lambda t=team, s=add: self.add_member(t, s.value)
                ).props("flat round dense")
                services = ui.select(
                    self.services, multiple=True, value=team["services"], label="Services"
                ).classes("w-72")
                channels = ui.select(
                    self.channels, multiple=True, value=team["channels"], label="Channels"
                ).classes("w-60")
                ui.button(
                    "Save",
                    icon="save",
                    on_click=lambda t=team, s=services, c=channels: self.save(t, s.value, c.value),
                ).props("outline")
                ui.button(icon="delete", on_click=lambda t=team: self.delete(t)).props(
                    "flat round dense color=negative"
                ).mark(f"delete-team-{team['name']}")

    async def _act(self, what: str, action: Any) -> bool:
        try:
            await action
        except ApiError as exc:
            self.ctx.report.error(exc, what)
            return False
        self.signature = None
        await self.refresh()
        return True

    async def create(self) -> None:
        body = {
            "name": (self.name.value or "").strip(),
            "services": list(self.pick_services.value or []),
            "channels": list(self.pick_channels.value or []),
        }
        if await self._act("Could not create the team", self.ctx.api.post("/api/v1/teams", body)):
            self.name.value = ""
            ui.notify(f"Team {body['name']} created.", type="positive")

    async def save(self, team: dict[str, Any], services: Any, channels: Any) -> None:
        body = {"services": list(services or []), "channels": list(channels or [])}
        await self._act(
            "Could not save the team", self.ctx.api.patch(f"/api/v1/teams/{team['id']}", body)
        )

    async def delete(self, team: dict[str, Any]) -> None:
        await self._act(
            "Could not delete the team", self.ctx.api.delete(f"/api/v1/teams/{team['id']}")
        )

    async def add_member(self, team: dict[str, Any], user_id: Any) -> None:
        if user_id is None:
            return
        path = f"/api/v1/teams/{team['id']}/members/{int(user_id)}"
        await self._act("Could not add the member", self.ctx.api.put(path))

    async def remove_member(self, team: dict[str, Any], member: dict[str, Any]) -> None:
        path = f"/api/v1/teams/{team['id']}/members/{member['user_id']}"
        await self._act("Could not remove the member", self.ctx.api.delete(path))

    async def set_restricted(self, event: Any) -> None:
        value = bool(event.value)
        if not self.ctx.can_admin or self.restricted is None or value == self.restricted:
            return  # the switch showing the stored setting, not someone changing it
        await self._act(
            "Could not change the visibility",
            self.ctx.api.put("/api/v1/team-settings", {"restrict_members_to_teams": value}),
        )
