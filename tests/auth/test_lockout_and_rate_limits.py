from __future__ import annotations

from typing import Any

import httpx
from factories import PASSWORD, Account, FakeClock, login
from factories import clock as clock

from failcast.deps import services_of


async def _fail(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await login(client, email, "not the right password")


async def test_an_account_locks_after_five_failures_and_unlocks_after_fifteen_minutes(
    client: httpx.AsyncClient, account: Account, clock: FakeClock
) -> None:
    statuses = [(await _fail(client, account.email)).status_code for _ in range(5)]
    assert statuses == [401] * 5
    locked = await login(client, account.email)
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(15 * 60)
    assert locked.json() == {
        "error": "TooManyRequests",
        "detail": "too many failed sign-ins; try again later",
    }
    clock.advance(minutes=10)
    assert (await login(client, account.email)).headers["retry-after"] == str(5 * 60)
    clock.advance(minutes=5)
    assert (await login(client, account.email)).status_code == 200
    # A success clears the count: four more failures do not lock.
    for _ in range(4):
        await _fail(client, account.email)
    assert (await login(client, account.email)).status_code == 200


async def test_unknown_emails_fail_and_lock_exactly_like_real_accounts(
    client: httpx.AsyncClient, account: Account, clock: FakeClock
) -> None:
    known = [await _fail(client, account.email) for _ in range(6)]
    unknown = [await _fail(client, "nobody@example.com") for _ in range(6)]
    for a, b in zip(known, unknown, strict=True):
        assert a.status_code == b.status_code
        assert a.json() == b.json()
        assert a.headers.get("retry-after") == b.headers.get("retry-after")
    assert known[-1].status_code == 429


async def test_unknown_and_known_emails_cost_one_password_check_each(
    client: httpx.AsyncClient, account: Account, app: Any
) -> None:
    passwords = services_of(app).passwords
    calls: list[str | None] = []
    original = passwords.verify

    async def counting(password_hash: str | None, password: str) -> bool:
        calls.append(password_hash)
        result: bool = await original(password_hash, password)
        return result

    passwords.verify = counting
    await _fail(client, account.email)
    await _fail(client, "nobody@example.com")
    assert len(calls) == 2
    assert calls[0] is not None and calls[1] is None


async def test_failures_from_one_address_block_it_across_accounts(
    client: httpx.AsyncClient, app: Any, clock: FakeClock
) -> None:
    security = services_of(app).security
    security.settings = security.settings.model_copy(update={"lockout_ip_threshold": 3})
    for i in range(3):
        assert (await _fail(client, f"victim{i}@example.com")).status_code == 401
    blocked = await login(client, "someone-else@example.com")
    assert blocked.status_code == 429
    assert blocked.json()["detail"] == "too many failed sign-ins from this address; try again later"
    assert blocked.headers["retry-after"] == str(15 * 60)
    clock.advance(minutes=15)
    assert (await _fail(client, "someone-else@example.com")).status_code == 401


async def test_lockouts_and_failures_are_in_the_audit_log(
    client: httpx.AsyncClient, account: Account
) -> None:
    for _ in range(5):
        await _fail(client, account.email)
    events = (
        await client.get("/api/v1/audit", params={"action": "auth."}, headers=account.headers)
    ).json()["events"]
    actions = [e["action"] for e in events]
    assert actions.count("auth.login_failed") == 5
    assert actions[0] == "auth.lockout"
    assert events[0]["target"] == f"user:{account.user_id}"
    assert events[0]["ip"] == "127.0.0.1"


async def test_auth_endpoints_are_rate_limited_per_address(
    client: httpx.AsyncClient, account: Account, clock: FakeClock
) -> None:
    responses = [await login(client, account.email) for _ in range(31)]
    assert [r.status_code for r in responses[:30]] == [200] * 30
    assert responses[30].status_code == 429
    assert responses[30].json()["error"] == "TooManyRequests"
    assert responses[30].headers["retry-after"] == "60"
    forgot = await client.post("/api/v1/password/forgot", json={"email": account.email})
    assert forgot.status_code == 202, "each endpoint group has its own budget"
    clock.advance(seconds=60)
    assert (await login(client, account.email, PASSWORD)).status_code == 200
