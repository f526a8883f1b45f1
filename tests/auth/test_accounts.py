from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import jwt
from factories import PASSWORD, Account, bearer, create_api_key, register

from failcast.deps import services_of


async def test_register_login_and_profile(client: httpx.AsyncClient) -> None:
    account = await register(client, "Ada@Example.com", "Analytical Engines")
    response = await client.post(
        "/api/v1/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 200
    token = response.json()["access_token"]
    profile = (await client.get("/api/v1/profile", headers=bearer(token))).json()
    assert profile["user"]["email"] == "ada@example.com"
    assert profile["org"] == {
        "id": account.org_id,
        "name": "Analytical Engines",
        "slug": "analytical-engines",
        "plan": "free",
        "role": "owner",
    }


async def test_login_failures_do_not_reveal_whether_the_email_exists(
    client: httpx.AsyncClient, account: Account
) -> None:
    wrong_password = await client.post(
        "/api/v1/login", json={"email": account.email, "password": "not the password!"}
    )
    unknown_email = await client.post(
        "/api/v1/login", json={"email": "nobody@example.com", "password": "not the password!"}
    )
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json() == unknown_email.json()


async def test_registration_validates_input(client: httpx.AsyncClient, account: Account) -> None:
    response = await client.post(
        "/api/v1/register", json={"email": "not-an-email", "password": "short", "org_name": ""}
    )
    assert response.status_code == 422
    fields = {p["field"] for p in response.json()["detail"]}
    assert fields == {"body.email", "body.password", "body.org_name"}
    again = await client.post(
        "/api/v1/register",
        json={"email": account.email, "password": PASSWORD, "org_name": "Other"},
    )
    assert again.status_code == 409


async def test_password_is_stored_hashed(client: httpx.AsyncClient, app: object) -> None:
    from sqlalchemy import select

    from failcast.models import User

    await register(client, "hash@example.com")
    async with services_of(app).db.session() as session:  # type: ignore[attr-defined]
        stored = await session.scalar(select(User.password_hash))
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_api_keys_are_shown_once_listed_by_prefix_and_revocable(
    client: httpx.AsyncClient, account: Account
) -> None:
    key = await create_api_key(client, account, ["read"])
    listed = (await client.get("/api/v1/api-keys", headers=account.headers)).json()
    assert len(listed) == 1
    assert "key" not in listed[0]
    assert key.startswith(f"fc_{listed[0]['prefix']}_")
    assert (await client.get("/api/v1/services", headers=bearer(key))).status_code == 200

    revoked = await client.delete(f"/api/v1/api-keys/{listed[0]['id']}", headers=account.headers)
    assert revoked.json()["revoked_at"] is not None
    response = await client.get("/api/v1/services", headers=bearer(key))
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized", "detail": "API key revoked"}


async def test_api_key_cannot_manage_keys_and_bad_keys_are_refused(
    client: httpx.AsyncClient, account: Account
) -> None:
    admin_key = await create_api_key(client, account, ["admin", "read"])
    assert (await client.get("/api/v1/api-keys", headers=bearer(admin_key))).status_code == 200
    assert (await client.get("/api/v1/profile", headers=bearer(admin_key))).status_code == 403
    tampered = admin_key[:-4] + "AAAA"
    assert (await client.get("/api/v1/services", headers=bearer(tampered))).status_code == 401
    assert (await client.get("/api/v1/services", headers=bearer("fc_nonsense"))).status_code == 401


async def test_expired_credentials_are_refused(
    client: httpx.AsyncClient, account: Account, settings: object
) -> None:
    past = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    response = await client.post(
        "/api/v1/api-keys",
        json={"name": "old", "scopes": ["read"], "expires_at": past},
        headers=account.headers,
    )
    assert response.status_code == 422
    token = jwt.encode(
        {
            "sub": str(account.user_id),
            "org": account.org_id,
            "iss": "failcast",
            "typ": "access",
            "exp": int((datetime.now(UTC) - timedelta(seconds=5)).timestamp()),
        },
        settings.secret_key,  # type: ignore[attr-defined]
        algorithm="HS256",
    )
    response = await client.get("/api/v1/profile", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"
    forged = jwt.encode(
        {
            "sub": str(account.user_id),
            "org": account.org_id,
            "iss": "failcast",
            "typ": "access",
            "exp": int((datetime.now(UTC) + timedelta(hours=1)).timestamp()),
        },
        "another-secret-another-secret-another-secret",
        algorithm="HS256",
    )
    assert (await client.get("/api/v1/profile", headers=bearer(forged))).status_code == 401
