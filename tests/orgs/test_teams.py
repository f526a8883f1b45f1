from __future__ import annotations

from typing import Any

import httpx
from factories import (
    PASSWORD,
    Account,
    FakeClock,
    Mailbox,
    add_member,
    bearer,
    delivered,
    login,
    register,
)
from factories import clock as clock
from factories import mailbox as mailbox


async def _invite(
    client: httpx.AsyncClient, admin: Account, email: str, role: str
) -> httpx.Response:
    return await client.post(
        "/api/v1/orgs/current/invitations",
        json={"email": email, "role": role},
        headers=admin.headers,
    )


def _token(mailbox: Mailbox, email: str) -> str:
    """The token of the mailed invitation link, which opens the dashboard's invite page."""
    return mailbox.link(email, "/app/invite?token=").rsplit("token=", 1)[1]


async def _members(client: httpx.AsyncClient, account: Account) -> dict[str, str]:
    listed = (await client.get("/api/v1/orgs/current/members", headers=account.headers)).json()
    return {m["email"]: m["role"] for m in listed}


async def test_an_existing_user_accepts_an_invitation_from_the_mailed_link(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account
) -> None:
    grace = await register(client, "grace@example.com", "Grace's own org")
    invited = await _invite(client, account, "Grace@Example.com", "admin")
    assert invited.status_code == 201
    assert invited.json()["status"] == "pending"
    await delivered(app)
    [mail] = [m for m in mailbox.to("grace@example.com") if "invited" in m["Subject"]]
    assert mail["Subject"] == "owner@example.com invited you to Acme on Failcast"
    assert mail.get_body(preferencelist=("html",)) is not None
    link = mailbox.link("grace@example.com", "/app/invite?token=")
    assert link.startswith("http://localhost:8000/app/invite?token=")

    view = await client.get(f"/api/v1/invitations/{_token(mailbox, 'grace@example.com')}")
    assert view.status_code == 200
    assert view.json() | {"expires_at": None} == {
        "org_name": "Acme",
        "email": "grace@example.com",
        "role": "admin",
        "invited_by": "owner@example.com",
        "expires_at": None,
    }
    token = _token(mailbox, "grace@example.com")
    # Only the invited address may accept.
    assert (
        await client.post(
            "/api/v1/invitations/accept", json={"token": token}, headers=account.headers
        )
    ).status_code == 403
    accepted = await client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=grace.headers
    )
    assert accepted.status_code == 200
    assert accepted.json()["role"] == "admin"
    assert (await _members(client, account))["grace@example.com"] == "admin"
    again = await client.post(
        "/api/v1/invitations/accept", json={"token": token}, headers=grace.headers
    )
    assert again.status_code == 404

    orgs = (await client.get("/api/v1/orgs", headers=grace.headers)).json()
    assert [(o["name"], o["role"]) for o in orgs] == [
        ("Grace's own org", "owner"),
        ("Acme", "admin"),
    ]


async def test_a_new_person_registers_through_the_invitation(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account
) -> None:
    viewer = await add_member(client, app, mailbox, account, "vi@example.com", "viewer")
    profile = (await client.get("/api/v1/profile", headers=viewer.headers)).json()
    assert profile["org"]["id"] == account.org_id
    assert profile["org"]["role"] == "viewer"
    assert profile["user"]["email_verified_at"] is not None
    assert [o["id"] for o in profile["orgs"]] == [account.org_id]


async def test_invitations_can_be_declined_revoked_and_expire(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account, clock: FakeClock
) -> None:
    await _invite(client, account, "a@example.com", "member")
    revoked = (await _invite(client, account, "b@example.com", "member")).json()
    await _invite(client, account, "c@example.com", "member")
    await delivered(app)

    decline = await client.post(
        "/api/v1/invitations/decline", json={"token": _token(mailbox, "a@example.com")}
    )
    assert decline.status_code == 204
    response = await client.delete(
        f"/api/v1/orgs/current/invitations/{revoked['id']}", headers=account.headers
    )
    assert response.json()["status"] == "revoked"
    assert (
        await client.get(f"/api/v1/invitations/{_token(mailbox, 'b@example.com')}")
    ).status_code == 404
    clock.advance(days=7, seconds=1)
    assert (
        await client.get(f"/api/v1/invitations/{_token(mailbox, 'c@example.com')}")
    ).status_code == 404

    listed = (await client.get("/api/v1/orgs/current/invitations", headers=account.headers)).json()
    assert {i["email"]: i["status"] for i in listed} == {
        "a@example.com": "declined",
        "b@example.com": "revoked",
        "c@example.com": "expired",
    }


async def test_role_rules_keep_an_owner_and_reserve_the_owner_role_to_owners(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account
) -> None:
    admin = await add_member(client, app, mailbox, account, "admin@example.com", "admin")
    member = await add_member(client, app, mailbox, account, "member@example.com", "member")

    async def set_role(caller: Account, target: Account, role: str) -> httpx.Response:
        return await client.patch(
            f"/api/v1/orgs/current/members/{target.user_id}",
            json={"role": role},
            headers=caller.headers,
        )

    assert (await set_role(member, admin, "viewer")).status_code == 403
    assert (await set_role(admin, member, "viewer")).json()["role"] == "viewer"
    assert (await set_role(admin, member, "owner")).status_code == 403
    assert (await set_role(admin, account, "member")).status_code == 403
    assert (await _invite(client, admin, "o@example.com", "owner")).status_code == 403
    last_owner = await set_role(account, account, "admin")
    assert last_owner.status_code == 409
    assert "at least one owner" in last_owner.json()["detail"]
    removing_owner = await client.delete(
        f"/api/v1/orgs/current/members/{account.user_id}", headers=account.headers
    )
    assert removing_owner.status_code == 409

    # A removed member's tokens stop working for the org at once.
    removed = await client.delete(
        f"/api/v1/orgs/current/members/{member.user_id}", headers=admin.headers
    )
    assert removed.status_code == 204
    assert (await client.get("/api/v1/services", headers=member.headers)).status_code == 401
    assert set(await _members(client, account)) == {"owner@example.com", "admin@example.com"}

    events = (
        await client.get("/api/v1/audit", params={"action": "member."}, headers=account.headers)
    ).json()
    assert [e["action"] for e in events["events"]][:2] == ["member.removed", "member.role_changed"]
    assert events["events"][1]["details"] == {"from": "member", "to": "viewer"}


async def test_ownership_transfer(
    client: httpx.AsyncClient, app: Any, mailbox: Mailbox, account: Account
) -> None:
    admin = await add_member(client, app, mailbox, account, "admin@example.com", "admin")
    url = f"/api/v1/orgs/{account.org_id}/transfer-ownership"
    assert (
        await client.post(url, json={"user_id": account.user_id}, headers=admin.headers)
    ).status_code == 403
    response = await client.post(url, json={"user_id": admin.user_id}, headers=account.headers)
    assert response.status_code == 204
    assert await _members(client, account) == {
        "owner@example.com": "admin",
        "admin@example.com": "owner",
    }


async def test_several_orgs_and_switching_between_them(
    client: httpx.AsyncClient, account: Account
) -> None:
    created = await client.post(
        "/api/v1/orgs", json={"name": "Side Project"}, headers=account.headers
    )
    assert created.status_code == 201
    side = created.json()
    assert side["role"] == "owner"
    mine = (await client.get("/api/v1/orgs", headers=account.headers)).json()
    assert [o["name"] for o in mine] == ["Acme", "Side Project"]

    switched = await client.post(f"/api/v1/orgs/{side['id']}/switch", headers=account.headers)
    assert switched.status_code == 200
    tokens = switched.json()
    profile = (await client.get("/api/v1/profile", headers=bearer(tokens["access_token"]))).json()
    assert profile["org"]["id"] == side["id"]
    # The session moved: the token minted for the first org no longer speaks for it.
    assert (await client.get("/api/v1/profile", headers=account.headers)).status_code == 401
    refreshed = await client.post(
        "/api/v1/token/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    again = (
        await client.get("/api/v1/profile", headers=bearer(refreshed.json()["access_token"]))
    ).json()
    assert again["org"]["id"] == side["id"]

    stranger = await register(client, "stranger@example.com", "Elsewhere")
    foreign = await client.post(
        f"/api/v1/orgs/{stranger.org_id}/switch", headers=bearer(tokens["access_token"])
    )
    assert foreign.status_code == 404


async def test_login_can_pick_the_org(client: httpx.AsyncClient, account: Account) -> None:
    side = (
        await client.post("/api/v1/orgs", json={"name": "Side"}, headers=account.headers)
    ).json()
    tokens = (await login(client, account.email, PASSWORD, org_id=side["id"])).json()
    profile = (await client.get("/api/v1/profile", headers=bearer(tokens["access_token"]))).json()
    assert profile["org"]["name"] == "Side"
