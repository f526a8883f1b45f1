from __future__ import annotations

from typing import Any

import httpx
from factories import Account, Mailbox, add_member, bearer, create_api_key
from factories import mailbox as mailbox

from failcast.auth import audit
from failcast.deps import services_of


async def test_audit_log_pages_newest_first_with_a_cursor(
    client: httpx.AsyncClient, app: Any, account: Account
) -> None:
    async with services_of(app).db.session() as session:
        for n in range(5):
            audit.record(
                session, account.org_id, "exporter", "export.created", f"report:{n}", {"rows": n}
            )
        await session.commit()

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"action": "export.created", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/v1/audit", params=params, headers=account.headers)).json()
        seen += [e["target"] for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"report:{n}" for n in (4, 3, 2, 1, 0)]
    one = (
        await client.get("/api/v1/audit", params={"target": "report:3"}, headers=account.headers)
    ).json()["events"]
    assert [(e["actor"], e["details"]) for e in one] == [("exporter", {"rows": 3})]


async def test_key_changes_and_logins_are_recorded(
    client: httpx.AsyncClient, account: Account
) -> None:
    await create_api_key(client, account, ["read"])
    keys = (await client.get("/api/v1/api-keys", headers=account.headers)).json()
    await client.delete(f"/api/v1/api-keys/{keys[0]['id']}", headers=account.headers)
    await client.post("/api/v1/login", json={"email": account.email, "password": "wrong password!"})
    events = (await client.get("/api/v1/audit", headers=account.headers)).json()["events"]
    actions = [e["action"] for e in events]
    assert actions[:3] == ["auth.login_failed", "api_key.revoked", "api_key.created"]
    created = events[2]
    assert created["actor"] == account.email
    assert created["actor_user_id"] == account.user_id
    assert created["details"]["scopes"] == ["read"]
    assert "key" not in created["details"]


async def test_only_admins_read_the_audit_log(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account
) -> None:
    member = await add_member(client, app, mailbox, account, "m@example.com", "member")
    assert (await client.get("/api/v1/audit", headers=member.headers)).status_code == 403
    read_key = await create_api_key(client, account, ["read"])
    assert (await client.get("/api/v1/audit", headers=bearer(read_key))).status_code == 403
    bad = await client.get("/api/v1/audit", params={"cursor": "abc"}, headers=account.headers)
    assert bad.status_code == 422
