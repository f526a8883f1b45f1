"""Teams: create, rename, delete and membership through the API; alerts about a team's
services reach its channels only; a restricted org shows members their teams' services only."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from factories import Account, Mailbox, add_member, bearer, mailbox
from fastapi import FastAPI

from failcast.deps import services_of

# The real local receivers live with the notification tests; appended, so nothing is shadowed.
sys.path.append(str(Path(__file__).resolve().parent.parent / "notify"))
from receivers import HttpReceiver

__all__ = ["mailbox"]  # fixtures


async def declare(client: httpx.AsyncClient, account: Account, *names: str) -> None:
    for name in names:
        response = await client.post(
            "/api/v1/services", json={"name": name}, headers=account.headers
        )
        assert response.status_code == 201, response.text


async def create_team(client: httpx.AsyncClient, account: Account, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/teams", json=body, headers=account.headers)
    assert response.status_code == 201, response.text
    team: dict[str, Any] = response.json()
    return team


async def test_teams_own_services_have_members_and_are_renamed_and_deleted(
    app: FastAPI, client: httpx.AsyncClient, account: Account, mailbox: Mailbox
) -> None:
    await declare(client, account, "checkout", "payments-db", "search")
    team = await create_team(client, account, name="payments", services=["checkout", "payments-db"])
    assert team["services"] == ["checkout", "payments-db"] and team["members"] == []
    services = (await client.get("/api/v1/services", headers=account.headers)).json()
    assert {s["name"]: s["team"] for s in services} == {
        "checkout": "payments",
        "payments-db": "payments",
        "search": None,
    }

    again = await client.post("/api/v1/teams", json={"name": "payments"}, headers=account.headers)
    assert again.status_code == 409
    unknown = await client.post(
        "/api/v1/teams",
        json={"name": "x", "services": ["nope"], "channels": ["missing"]},
        headers=account.headers,
    )
    assert unknown.status_code == 422
    assert [p["field"] for p in unknown.json()["detail"]] == ["channels.0"]

    member = await add_member(client, app, mailbox, account, "dev@example.com", "member")
    added = await client.put(
        f"/api/v1/teams/{team['id']}/members/{member.user_id}", headers=account.headers
    )
    assert added.status_code == 200, added.text
    assert [m["email"] for m in added.json()["members"]] == ["dev@example.com"]
    # A member may read teams but not change them.
    refused = await client.patch(
        f"/api/v1/teams/{team['id']}", json={"name": "mine"}, headers=member.headers
    )
    assert refused.status_code == 403
    outsider = await client.put(
        f"/api/v1/teams/{team['id']}/members/999999", headers=account.headers
    )
    assert outsider.status_code == 404

    renamed = await client.patch(
        f"/api/v1/teams/{team['id']}",
        json={"name": "billing", "services": ["checkout"]},
        headers=account.headers,
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["services"] == ["checkout"]
    services = (await client.get("/api/v1/services", headers=account.headers)).json()
    assert {s["name"]: s["team"] for s in services}["checkout"] == "billing"
    assert {s["name"]: s["team"] for s in services}["payments-db"] is None

    removed = await client.delete(
        f"/api/v1/teams/{team['id']}/members/{member.user_id}", headers=account.headers
    )
    assert removed.json()["members"] == []
    gone = await client.delete(f"/api/v1/teams/{team['id']}", headers=account.headers)
    assert gone.status_code == 204
    assert (await client.get("/api/v1/teams", headers=account.headers)).json() == []
    services = (await client.get("/api/v1/services", headers=account.headers)).json()
    assert all(s["team"] is None for s in services)


async def test_a_restricted_org_shows_members_only_their_teams_services_and_alerts(
    app: FastAPI, client: httpx.AsyncClient, account: Account, mailbox: Mailbox, api_key: str
) -> None:
    await declare(client, account, "checkout", "search")
    team = await create_team(client, account, name="payments", services=["checkout"])
    member = await add_member(client, app, mailbox, account, "dev@example.com", "member")
    await client.put(
        f"/api/v1/teams/{team['id']}/members/{member.user_id}", headers=account.headers
    )
    ends = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    alerts = [
        {"labels": {"alertname": "Errors", "service": name}, "endsAt": ends}
        for name in ("checkout", "search")
    ]
    assert (
        await client.post("/api/v2/alerts", json=alerts, headers=bearer(api_key))
    ).status_code == 200

    async def seen(who: Account) -> tuple[list[str], list[str]]:
        services = (await client.get("/api/v1/services", headers=who.headers)).json()
        items = (await client.get("/api/v1/alerts", headers=who.headers)).json()["items"]
        return sorted(s["name"] for s in services), sorted(a["service"] for a in items)

    # Unrestricted: everyone sees everything.
    assert await seen(member) == (["checkout", "search"], ["checkout", "search"])
    settings = await client.put(
        "/api/v1/team-settings", json={"restrict_members_to_teams": True}, headers=account.headers
    )
    assert settings.status_code == 200
    assert await seen(member) == (["checkout"], ["checkout"])
    assert await seen(account) == (["checkout", "search"], ["checkout", "search"])  # the owner
    search = next(
        s
        for s in (await client.get("/api/v1/services", headers=account.headers)).json()
        if s["name"] == "search"
    )
    hidden = await client.get(f"/api/v1/services/{search['id']}", headers=member.headers)
    assert hidden.status_code == 404
    items = (await client.get("/api/v1/alerts", headers=account.headers)).json()["items"]
    search_alert = next(a for a in items if a["service"] == "search")
    for method, path in (
        ("GET", f"/api/v1/alerts/{search_alert['id']}"),
        ("POST", f"/api/v1/alerts/{search_alert['id']}/ack"),
    ):
        answer = await client.request(method, path, headers=member.headers)
        assert answer.status_code == 404, (method, path)
    current = await client.get("/api/v1/team-settings", headers=member.headers)
    assert current.json() == {"restrict_members_to_teams": True}


async def test_alerts_about_a_teams_services_go_to_its_channels(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await services_of(app).runner.stop()
    org_wide, payments = await HttpReceiver().start(), await HttpReceiver().start()
    try:
        for name, receiver in (("org-wide", org_wide), ("payments-slack", payments)):
            response = await client.post(
                "/api/v1/channels",
                json={"name": name, "kind": "slack", "config": {"url": f"{receiver.url}/hook"}},
                headers=account.headers,
            )
            assert response.status_code == 201, response.text
        await declare(client, account, "checkout", "search")
        await create_team(
            client, account, name="payments", services=["checkout"], channels=["payments-slack"]
        )
        now = datetime.now(UTC)
        alerts = [
            {
                "labels": {"alertname": "Errors", "service": name},
                "endsAt": (now + timedelta(minutes=5)).isoformat(),
            }
            for name in ("checkout", "search")
        ]
        response = await client.post("/api/v2/alerts", json=alerts, headers=bearer(api_key))
        assert response.status_code == 200, response.text
        await services_of(app).notifier.flush(now + timedelta(minutes=1))

        # The team's channel hears only its service; the channel no team claims hears both.
        assert len(payments.requests) == 1 and "service=checkout" in payments.bodies()[0]["text"]
        assert len(org_wide.requests) == 2
        assert {("checkout" in b["text"]) for b in org_wide.bodies()} == {True, False}

        # A routing tree can match the owning team; the team's own channel still hears it.
        policy = {
            "route": {
                "receivers": ["org-wide"],
                "group_by": ["alertname", "service"],
                "routes": [{"matchers": ['team="payments"'], "receivers": ["pager"]}],
            }
        }
        pager = await HttpReceiver().start()
        try:
            response = await client.post(
                "/api/v1/channels",
                json={"name": "pager", "kind": "slack", "config": {"url": f"{pager.url}/hook"}},
                headers=account.headers,
            )
            assert response.status_code == 201, response.text
            response = await client.put(
                "/api/v1/notification-policy", json=policy, headers=account.headers
            )
            assert response.status_code == 200, response.text
            await services_of(app).notifier.flush(now + timedelta(minutes=2))
            [paged] = pager.bodies()
            assert "service=checkout" in paged["text"]
            assert len(payments.requests) == 1  # nothing changed for the team's channel
        finally:
            await pager.stop()
    finally:
        await org_wide.stop()
        await payments.stop()
