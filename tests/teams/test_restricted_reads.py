"""What a member of a restricted org reads: an org with teams alpha (service `a`) and beta
(service `b`), and a member of alpha. Every read about services shows the member `a` and
never `b` (404 for `b`'s own things), while the owner sees both; lifting the restriction
shows the member both again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from factories import Account, Mailbox, add_member, bearer, mailbox
from fastapi import FastAPI

__all__ = ["mailbox"]  # fixtures

BOTH = {"a", "b"}


@dataclass
class Org:
    client: httpx.AsyncClient
    owner: Account
    member: Account
    key: str
    services: dict[str, int]
    slos: dict[str, int] = field(default_factory=dict)

    async def get(self, who: Account, path: str, **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=who.headers)

    async def restrict(self, value: bool) -> None:
        response = await self.client.put(
            "/api/v1/team-settings",
            json={"restrict_members_to_teams": value},
            headers=self.owner.headers,
        )
        assert response.status_code == 200, response.text


async def _push(client: httpx.AsyncClient, key: str, ago_s: float) -> None:
    ts = (datetime.now(UTC) - timedelta(seconds=ago_s)).isoformat()
    samples = [
        {"service": name, "metric": metric, "ts": ts, "value": value}
        for name in ("a", "b")
        for metric, value in (("error_rate", 0.02), ("latency_p99_ms", 80.0), ("cpu_pct", 40.0))
    ]
    response = await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    assert response.status_code == 200, response.text


@pytest.fixture
async def org(
    app: FastAPI, client: httpx.AsyncClient, account: Account, mailbox: Mailbox, api_key: str
) -> Org:
    services = {}
    for name in ("a", "b"):
        response = await client.post(
            "/api/v1/services", json={"name": name}, headers=account.headers
        )
        assert response.status_code == 201, response.text
        services[name] = response.json()["id"]
    member = await add_member(client, app, mailbox, account, "dev@example.com", "member")
    for team, service in (("alpha", "a"), ("beta", "b")):
        response = await client.post(
            "/api/v1/teams", json={"name": team, "services": [service]}, headers=account.headers
        )
        assert response.status_code == 201, response.text
        if team == "alpha":
            await client.put(
                f"/api/v1/teams/{response.json()['id']}/members/{member.user_id}",
                headers=account.headers,
            )
    for ago in (120, 60):
        await _push(client, api_key, ago)
    world = Org(client, account, member, api_key, services)
    for name in ("a", "b"):
        body = {
            "name": f"{name}-availability",
            "service": name,
            "objective": 0.99,
            "sli": {"type": "ratio", "ratio": {"query": "error_rate"}},
        }
        response = await client.post("/api/v1/slos", json=body, headers=account.headers)
        assert response.status_code == 201, response.text
        world.slos[name] = response.json()["id"]
    await world.restrict(True)
    return world


# ---------------------------------------------------------------- lists and aggregates

Lister = Callable[[Org, Account], Awaitable[set[str]]]


async def _health_services(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/health/services")).json()
    return {s["service"] for s in body["services"]}


async def _org_health(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/health")).json()
    assert sum(body["counts"].values()) == len(body["services"])
    return {s["service"] for s in body["services"]} | {r["service"] for r in body["risks"]}


async def _risk(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/risk")).json()
    return {s["service"] for s in body["services"]} | {
        slo["name"].split("-")[0] for s in body["services"] for slo in s["slos"]
    }


async def _slos(org: Org, who: Account) -> set[str]:
    return {s["service"] for s in (await org.get(who, "/api/v1/slos")).json()}


async def _slo_status(org: Org, who: Account) -> set[str]:
    return {s["service"] for s in (await org.get(who, "/api/v1/slos/status")).json()}


LISTS: dict[str, Lister] = {
    "health of services": _health_services,
    "org health": _org_health,
    "risk": _risk,
    "SLOs": _slos,
    "SLO status": _slo_status,
}


def _every(names: set[str]) -> dict[str, set[str]]:
    return {key: names for key in LISTS}


async def _seen(org: Org, who: Account) -> dict[str, set[str]]:
    return {name: await lister(org, who) for name, lister in LISTS.items()}


async def test_lists_and_aggregates_show_a_restricted_member_only_their_teams_services(
    org: Org,
) -> None:
    assert await _seen(org, org.member) == _every({"a"})
    assert await _seen(org, org.owner) == _every(BOTH)
    await org.restrict(False)
    assert await _seen(org, org.member) == _every(BOTH)


async def test_the_org_score_of_a_restricted_member_is_that_of_their_services(org: Org) -> None:
    member = (await org.get(org.member, "/api/v1/health")).json()
    owner = (await org.get(org.owner, "/api/v1/health")).json()
    assert sum(member["counts"].values()) == 1 and sum(owner["counts"].values()) == 2
    assert "b" not in member["summary"].split()


# ---------------------------------------------------------------- one service's things

Paths = Callable[[Org, str], list[tuple[str, str, dict[str, Any] | None]]]


def _own_things(org: Org, name: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """(method, path, body) of the requests about service `name` alone."""
    service, slo = org.services[name], org.slos[name]
    return [
        ("GET", f"/api/v1/health/services/{service}", None),
        ("PUT", f"/api/v1/health/config/services/{service}", {"weights": {}}),
        ("GET", f"/api/v1/slos/{slo}", None),
        ("GET", f"/api/v1/slos/{slo}/status", None),
    ]


async def _statuses(org: Org, who: Account, name: str) -> list[tuple[str, int]]:
    found = []
    for method, path, body in _own_things(org, name):
        response = await org.client.request(method, path, json=body, headers=who.headers)
        found.append((path, response.status_code))
    return found


async def test_another_teams_service_is_not_found_for_a_restricted_member(org: Org) -> None:
    paths = [path for _, path, _ in _own_things(org, "b")]
    assert await _statuses(org, org.member, "b") == [(p, 404) for p in paths]
    assert await _statuses(org, org.owner, "b") == [(p, 200) for p in paths]
    own = [path for _, path, _ in _own_things(org, "a")]
    assert await _statuses(org, org.member, "a") == [(p, 200) for p in own]
    await org.restrict(False)
    assert await _statuses(org, org.member, "b") == [(p, 200) for p in paths]
