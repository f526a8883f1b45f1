"""The teams page: an admin creates a team owning a service, and the restriction switch
changes the org setting."""

from __future__ import annotations

import asyncio

import httpx
from factories import PASSWORD, register
from nicegui import ui
from nicegui.testing.user import User

RETRIES = 100


async def sign_in(user: User, email: str) -> None:
    await user.open("/login")
    user.find("Email").type(email)
    user.find("Password").type(PASSWORD)
    user.find(marker="sign-in").click()
    await user.should_see(marker="org-name", retries=RETRIES)


async def test_an_admin_creates_a_team_and_restricts_members(
    user: User, api: httpx.AsyncClient
) -> None:
    account = await register(api, "lead@example.com", org_name="Acme")
    for name in ("checkout", "search"):
        created = await api.post("/api/v1/services", json={"name": name}, headers=account.headers)
        assert created.status_code == 201
    await sign_in(user, "lead@example.com")
    await user.open("/teams")
    await user.should_see(marker="no-teams", retries=RETRIES)

    user.find(marker="team-name").type("payments")
    services = user.find(marker="team-services").elements.pop()
    for _ in range(RETRIES):  # the options arrive with the page's first refresh
        if "checkout" in services.options:  # type: ignore[attr-defined]
            break
        await asyncio.sleep(0.05)
    services.value = ["checkout"]  # type: ignore[attr-defined]
    user.find(marker="create-team").click()
    await user.should_see("Services: checkout", retries=RETRIES)
    teams = (await api.get("/api/v1/teams", headers=account.headers)).json()
    assert [(t["name"], t["services"]) for t in teams] == [("payments", ["checkout"])]

    switch = user.find(marker="restrict-to-teams").elements.pop()
    assert isinstance(switch, ui.switch) and switch.value is False
    switch.value = True
    for _ in range(RETRIES):
        settings = (await api.get("/api/v1/team-settings", headers=account.headers)).json()
        if settings["restrict_members_to_teams"]:
            break
        await asyncio.sleep(0.05)
    assert settings == {"restrict_members_to_teams": True}
