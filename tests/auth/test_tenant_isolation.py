"""Org B's resources are invisible to org A: a foreign id answers exactly like a missing one."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from factories import bearer, create_api_key, register


async def test_a_user_of_org_a_cannot_see_org_b(client: httpx.AsyncClient) -> None:
    alice = await register(client, "alice@a.example", "Org A")
    bob = await register(client, "bob@b.example", "Org B")
    bob_key = await create_api_key(client, bob, ["ingest", "read"])
    now = datetime.now(UTC).timestamp()
    sample = {"service": "payments", "metric": "cpu", "ts": now - 60, "value": 1.0}
    assert (
        await client.post("/api/v1/metrics", json={"samples": [sample]}, headers=bearer(bob_key))
    ).status_code == 200
    log = {"service": "payments", "ts": now - 60, "message": "secret of B"}
    assert (
        await client.post("/api/v1/logs", json={"logs": [log]}, headers=bearer(bob_key))
    ).status_code == 200
    [bob_service] = (await client.get("/api/v1/services", headers=bob.headers)).json()

    response = await client.get(f"/api/v1/services/{bob_service['id']}", headers=alice.headers)
    assert response.status_code == 404
    missing = await client.get("/api/v1/services/999999", headers=alice.headers)
    assert response.json() == missing.json()
    patch = await client.patch(
        f"/api/v1/services/{bob_service['id']}", json={"team": "x"}, headers=alice.headers
    )
    assert patch.status_code == 404

    assert (await client.get("/api/v1/services", headers=alice.headers)).json() == []
    series = (
        await client.get("/api/v1/metrics", params={"metric": "cpu"}, headers=alice.headers)
    ).json()
    assert series["series"] == []
    logs = (await client.get("/api/v1/logs", headers=alice.headers)).json()
    assert logs["logs"] == []
    stats = (await client.get("/api/v1/stats", headers=alice.headers)).json()
    assert stats["samples"] == stats["logs"] == stats["services"] == 0

    bob_keys = (await client.get("/api/v1/api-keys", headers=bob.headers)).json()
    revoke = await client.delete(f"/api/v1/api-keys/{bob_keys[0]['id']}", headers=alice.headers)
    assert revoke.status_code == 404
    assert (await client.get("/api/v1/services", headers=bearer(bob_key))).status_code == 200


async def test_the_same_service_name_in_two_orgs_stays_separate(client: httpx.AsyncClient) -> None:
    now = datetime.now(UTC).timestamp()
    for email, value in [("a@a.example", 1.0), ("b@b.example", 2.0)]:
        account = await register(client, email, email)
        key = await create_api_key(client, account)
        sample = {"service": "api", "metric": "cpu", "ts": now - 30, "value": value}
        await client.post("/api/v1/metrics", json={"samples": [sample]}, headers=bearer(key))
        body = (
            await client.get("/api/v1/metrics", params={"metric": "cpu"}, headers=bearer(key))
        ).json()
        assert [p[1] for p in body["series"][0]["points"]] == [value]
