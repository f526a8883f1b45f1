from __future__ import annotations

from typing import Any

import httpx
import pytest
from factories import Account, bearer, login, register
from sqlalchemy import update

from failcast.deps import services_of
from failcast.models import User


@pytest.fixture
async def root(client: httpx.AsyncClient, app: Any) -> Account:
    """A platform administrator, as `failcast user promote` makes one."""
    account = await register(client, "root@ops.example", "Operators")
    async with services_of(app).db.session() as session:
        await session.execute(
            update(User).where(User.id == account.user_id).values(is_superuser=True)
        )
        await session.commit()
    return account


async def test_only_platform_administrators_reach_the_admin_api(
    client: httpx.AsyncClient, root: Account, account: Account
) -> None:
    for path in ("/api/v1/admin/users", "/api/v1/admin/orgs", "/api/v1/admin/stats"):
        response = await client.get(path, headers=account.headers)
        assert response.status_code == 403
        assert response.json()["detail"] == "this action needs a platform administrator"
        assert (await client.get(path, headers=root.headers)).status_code == 200


async def test_users_and_orgs_are_listed_and_searched(
    client: httpx.AsyncClient, root: Account, account: Account
) -> None:
    await register(client, "ada@lovelace.example", "Analytical Engines")
    users = (
        await client.get("/api/v1/admin/users", params={"q": "LOVELACE"}, headers=root.headers)
    ).json()
    assert [u["email"] for u in users["users"]] == ["ada@lovelace.example"]
    assert users["users"][0]["orgs"] == 1
    first = (
        await client.get("/api/v1/admin/users", params={"limit": 2}, headers=root.headers)
    ).json()
    rest = (
        await client.get(
            "/api/v1/admin/users",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=root.headers,
        )
    ).json()
    assert [u["email"] for u in first["users"] + rest["users"]] == [
        "root@ops.example",
        "owner@example.com",
        "ada@lovelace.example",
    ]
    assert rest["next_cursor"] is None
    orgs = (
        await client.get("/api/v1/admin/orgs", params={"q": "engines"}, headers=root.headers)
    ).json()
    assert [(o["name"], o["members"], o["plan"]) for o in orgs["orgs"]] == [
        ("Analytical Engines", 1, "free")
    ]
    assert (await client.get("/api/v1/admin/orgs", params={"q": "%"}, headers=root.headers)).json()[
        "orgs"
    ] == []


async def test_disabling_a_user_ends_their_sessions_and_sign_ins(
    client: httpx.AsyncClient, root: Account, account: Account
) -> None:
    disabled = await client.post(
        f"/api/v1/admin/users/{account.user_id}/disable", headers=root.headers
    )
    assert disabled.json()["is_active"] is False
    assert (await client.get("/api/v1/profile", headers=account.headers)).status_code == 401
    refresh = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": account.refresh_token}
    )
    assert refresh.status_code == 401
    assert (await login(client, account.email)).status_code == 401

    enabled = await client.post(
        f"/api/v1/admin/users/{account.user_id}/enable", headers=root.headers
    )
    assert enabled.json()["is_active"] is True
    tokens = (await login(client, account.email)).json()
    assert (
        await client.get("/api/v1/profile", headers=bearer(tokens["access_token"]))
    ).status_code == 200
    # Administrators cannot lock themselves out.
    assert (
        await client.post(f"/api/v1/admin/users/{root.user_id}/disable", headers=root.headers)
    ).status_code == 409


async def test_changing_a_plan_and_the_system_stats(
    client: httpx.AsyncClient, root: Account, account: Account
) -> None:
    changed = await client.patch(
        f"/api/v1/admin/orgs/{account.org_id}", json={"plan": "team"}, headers=root.headers
    )
    assert changed.json()["plan"] == "team"
    assert (
        await client.patch(
            f"/api/v1/admin/orgs/{account.org_id}",
            json={"plan": "Team Plan!"},
            headers=root.headers,
        )
    ).status_code == 422
    assert (
        await client.patch("/api/v1/admin/orgs/999999", json={"plan": "team"}, headers=root.headers)
    ).status_code == 404
    profile = (await client.get("/api/v1/profile", headers=account.headers)).json()
    assert profile["org"]["plan"] == "team"
    events = (
        await client.get(
            "/api/v1/audit", params={"action": "admin.plan_changed"}, headers=account.headers
        )
    ).json()
    assert events["events"][0]["details"] == {"from": "free", "to": "team"}
    assert events["events"][0]["actor"] == "root@ops.example"

    await login(client, account.email)
    await login(client, account.email, "a wrong password")
    stats = (await client.get("/api/v1/admin/stats", headers=root.headers)).json()
    assert stats == {
        "users": 2,
        "active_users": 2,
        "superusers": 1,
        "orgs": 2,
        "orgs_by_plan": {"free": 1, "team": 1},
        "live_sessions": 3,
        "active_api_keys": 0,
        "services": 0,
        "series": 0,
        "logins_last_24h": 1,
        "failed_logins_last_24h": 1,
    }
