"""A new org applies the default rules, SLOs and channel in one call, and again safely."""

from __future__ import annotations

import time

import httpx
from factories import Account


async def _names(client: httpx.AsyncClient, account: Account, path: str) -> set[str]:
    return {item["name"] for item in (await client.get(path, headers=account.headers)).json()}


async def test_defaults_add_rules_and_a_channel_and_say_why_there_are_no_slos(
    client: httpx.AsyncClient, account: Account
) -> None:
    applied = await client.post("/api/v1/orgs/current/defaults", headers=account.headers)
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert "high error rate" in body["rules"]
    assert body["slos"] == []
    assert body["channels"] == ["owners-email"]
    notes = " ".join(body["notes"])
    assert "error_rate" in notes and "FAILCAST_SMTP_HOST" in notes
    assert set(body["rules"]) == await _names(client, account, "/api/v1/alert-rules")
    channels = (await client.get("/api/v1/channels", headers=account.headers)).json()
    # No mail server in tests: the channel waits, disabled, addressed to the owner.
    assert channels[0]["enabled"] is False
    assert channels[0]["config"]["to"] == [account.email]


async def test_applying_again_adds_only_what_is_missing(
    client: httpx.AsyncClient, account: Account
) -> None:
    first = (await client.post("/api/v1/orgs/current/defaults", headers=account.headers)).json()
    rule_id = (await client.get("/api/v1/alert-rules", headers=account.headers)).json()[0]["id"]
    deleted = await client.delete(f"/api/v1/alert-rules/{rule_id}", headers=account.headers)
    assert deleted.status_code == 204
    now = int(time.time())
    samples = [
        {"service": "checkout", "metric": metric, "ts": now - 60, "value": value}
        for metric, value in (("error_rate", 0.01), ("latency_p99_ms", 120.0))
    ]
    sent = await client.post("/api/v1/metrics", json={"samples": samples}, headers=account.headers)
    assert sent.status_code in (200, 202), sent.text

    second = (await client.post("/api/v1/orgs/current/defaults", headers=account.headers)).json()
    assert len(second["rules"]) == 1
    assert second["channels"] == []
    assert second["slos"] == ["checkout/checkout-availability", "checkout/checkout-latency"]
    assert len(await _names(client, account, "/api/v1/alert-rules")) == len(first["rules"])
    third = (await client.post("/api/v1/orgs/current/defaults", headers=account.headers)).json()
    assert third["rules"] == third["slos"] == third["channels"] == []


async def test_billing_says_when_nothing_is_metered(
    client: httpx.AsyncClient, account: Account
) -> None:
    # The default installation enforces no plan: its usage must not read "10 of 5".
    billing = (await client.get("/api/v1/billing", headers=account.headers)).json()
    assert billing["metered"] is False
