from __future__ import annotations

import httpx
from factories import PASSWORD, Account, FakeClock, bearer, login, register
from factories import clock as clock


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/token/refresh", json={"refresh_token": token})


async def test_login_returns_an_access_and_a_refresh_token(
    client: httpx.AsyncClient, account: Account
) -> None:
    response = await login(client, account.email)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 15 * 60
    assert body["refresh_expires_in"] == 30 * 86400
    assert body["refresh_token"].startswith("fcr_")
    assert (
        await client.get("/api/v1/profile", headers=bearer(body["access_token"]))
    ).status_code == 200


async def test_refresh_tokens_rotate_and_reuse_revokes_the_whole_session(
    client: httpx.AsyncClient, account: Account
) -> None:
    first = (await login(client, account.email)).json()
    second = await _refresh(client, first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/api/v1/profile", headers=bearer(pair["access_token"]))
    ).status_code == 200

    # Someone replays the spent token: the family is burnt, including the newest pair.
    replay = await _refresh(client, first["refresh_token"])
    assert replay.status_code == 401
    assert "reused" in replay.json()["detail"]
    assert (await _refresh(client, pair["refresh_token"])).status_code == 401
    denied = await client.get("/api/v1/profile", headers=bearer(pair["access_token"]))
    assert denied.status_code == 401
    assert denied.json()["detail"] == "session revoked"
    # The registration session of the same account is untouched.
    assert (await client.get("/api/v1/profile", headers=account.headers)).status_code == 200


async def test_unknown_and_expired_refresh_tokens_are_refused(
    client: httpx.AsyncClient, account: Account, clock: FakeClock
) -> None:
    assert (await _refresh(client, "fcr_made-up")).status_code == 401
    clock.advance(days=31)
    response = await _refresh(client, account.refresh_token)
    assert response.status_code == 401
    assert response.json()["detail"] == "session expired"


async def test_logout_ends_the_session_and_its_refresh_token(
    client: httpx.AsyncClient, account: Account
) -> None:
    other = (await login(client, account.email)).json()
    assert (await client.post("/api/v1/logout", headers=account.headers)).status_code == 204
    assert (await client.get("/api/v1/profile", headers=account.headers)).status_code == 401
    assert (await _refresh(client, account.refresh_token)).status_code == 401
    # Only the session of the calling token ended.
    assert (
        await client.get("/api/v1/profile", headers=bearer(other["access_token"]))
    ).status_code == 200


async def test_logout_all_ends_every_session(client: httpx.AsyncClient, account: Account) -> None:
    other = (await login(client, account.email)).json()
    response = await client.post("/api/v1/logout-all", headers=bearer(other["access_token"]))
    assert response.json() == {"revoked": 2}
    for token in (account.token, other["access_token"]):
        assert (await client.get("/api/v1/profile", headers=bearer(token))).status_code == 401
    assert (await _refresh(client, other["refresh_token"])).status_code == 401


async def test_sessions_are_listed_and_can_be_revoked_one_by_one(
    client: httpx.AsyncClient, account: Account
) -> None:
    laptop = (
        await client.post(
            "/api/v1/login",
            json={"email": account.email, "password": PASSWORD},
            headers={"User-Agent": "Laptop/1.0"},
        )
    ).json()
    listed = (await client.get("/api/v1/sessions", headers=account.headers)).json()
    assert len(listed) == 2
    assert [s["current"] for s in listed].count(True) == 1
    laptop_session = next(s for s in listed if s["user_agent"] == "Laptop/1.0")
    assert laptop_session["current"] is False
    assert laptop_session["ip"] == "127.0.0.1"
    assert laptop_session["method"] == "password"

    stranger = await register(client, "stranger@example.com", "Elsewhere")
    foreign = await client.delete(
        f"/api/v1/sessions/{laptop_session['id']}", headers=stranger.headers
    )
    assert foreign.status_code == 404

    revoked = await client.delete(
        f"/api/v1/sessions/{laptop_session['id']}", headers=account.headers
    )
    assert revoked.status_code == 200
    assert (
        await client.get("/api/v1/profile", headers=bearer(laptop["access_token"]))
    ).status_code == 401
    assert len((await client.get("/api/v1/sessions", headers=account.headers)).json()) == 1


async def test_sessions_and_logout_are_for_people_not_api_keys(
    client: httpx.AsyncClient, api_key: str
) -> None:
    assert (await client.get("/api/v1/sessions", headers=bearer(api_key))).status_code == 403
    assert (await client.post("/api/v1/logout", headers=bearer(api_key))).status_code == 403
