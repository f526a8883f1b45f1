"""POST /api/v1/rca and the analyses linked from alerts and incidents, on stored samples and
the org's declared topology."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
from factories import Account, Mailbox, add_member, bearer, mailbox, register
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.models import Alert

__all__ = ["mailbox"]  # fixtures

NOW = datetime.now(UTC).replace(second=0, microsecond=0)
START = NOW - timedelta(minutes=100)
FAULT = NOW - timedelta(minutes=15)  # the database slows down here
TOPOLOGY = {
    "services": [
        {"name": "web", "depends_on": [{"target": "api"}, {"target": "search"}]},
        {"name": "api", "depends_on": [{"target": "db"}]},
        {"name": "search", "depends_on": []},
        {"name": "db", "depends_on": []},
    ]
}


def history() -> list[dict[str, object]]:
    """A minute apart: each service's latency in seconds and CPU as a ratio; from FAULT the
    database's latency quadruples and its callers inherit part of it."""
    rng = np.random.default_rng(5)
    slowdown = {"db": 3.0, "api": 2.0, "web": 1.2, "search": 0.0}
    samples: list[dict[str, object]] = []
    for minute in range(100):
        ts = START + timedelta(minutes=minute)
        for service, extra in slowdown.items():
            latency = 0.05 * (1 + 0.02 * rng.standard_normal())
            if ts >= FAULT:
                latency *= 1 + extra
            for metric, value in (
                ("request_duration_seconds", latency),
                ("cpu_usage_ratio", 0.4 * (1 + 0.02 * rng.standard_normal())),
            ):
                samples.append(
                    {"service": service, "metric": metric, "ts": ts.isoformat(), "value": value}
                )
    return samples


async def seed(client: httpx.AsyncClient, account: Account, api_key: str) -> None:
    sent = await client.post(
        "/api/v1/metrics", json={"samples": history()}, headers=bearer(api_key)
    )
    assert sent.status_code == 200, sent.text
    put = await client.put("/api/v1/topology", json=TOPOLOGY, headers=account.headers)
    assert put.status_code == 200, put.text


async def test_names_the_slow_database_behind_the_frontend(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await seed(client, account, api_key)
    body = {"service": "web", "metric": "request_duration_seconds", "at": FAULT.isoformat()}
    answer = await client.post("/api/v1/rca", json=body, headers=account.headers)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["verdict"] == "root_cause"
    assert result["topology"] == "declared"
    top = result["candidates"][0]
    assert (top["service"], top["metric"]) == ("db", "request_duration_seconds")
    assert "request_duration_seconds up" in top["evidence"]
    by_name = {c["service"]: c for c in result["candidates"]}
    assert by_name["api"]["explained_by"] == "db"
    assert by_name["search"]["score"] < 0.3
    # Another org sees none of it: the same question there has no such service.
    other = await register(client, "other@example.com", "Other")
    elsewhere = await client.post("/api/v1/rca", json=body, headers=other.headers)
    assert elsewhere.status_code == 422
    assert "db" not in elsewhere.text


async def test_an_alert_and_an_incident_link_to_their_analysis(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await seed(client, account, api_key)
    async with services_of(app).db.session() as session:
        alert = Alert(
            org_id=account.org_id, fingerprint="f" * 16, state="firing", severity="critical",
            service="web", title="web is slow", labels={}, context={},
            started_at=FAULT + timedelta(minutes=1),
        )  # fmt: skip
        session.add(alert)
        await session.commit()
        alert_id = alert.id
    listed = (await client.get("/api/v1/alerts", headers=account.headers)).json()["items"]
    link = next(a["rca"] for a in listed if a["id"] == alert_id)
    assert link == f"/api/v1/alerts/{alert_id}/rca"
    answer = await client.get(link, headers=account.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["service"] == "web"
    assert answer.json()["candidates"][0]["service"] == "db"

    incident = {"service": "api", "type": "latency_spike", "start": FAULT.isoformat()}
    posted = await client.post(
        "/api/v1/incidents", json={"incidents": [incident]}, headers=bearer(api_key)
    )
    assert posted.status_code in (200, 201), posted.text
    items = (await client.get("/api/v1/incidents", headers=account.headers)).json()["items"]
    link = items[0]["rca"]
    answer = await client.get(link, headers=account.headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["service"] == "api"
    assert answer.json()["candidates"][0]["service"] == "db"

    other = await register(client, "other@example.com", "Other")
    assert (
        await client.get(f"/api/v1/alerts/{alert_id}/rca", headers=other.headers)
    ).status_code == 404
    assert (await client.get(link, headers=other.headers)).status_code == 404


async def test_bad_questions_are_422_with_the_field(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    await seed(client, account, api_key)
    h = account.headers

    async def problem(body: dict[str, object]) -> dict[str, object]:
        answer = await client.post("/api/v1/rca", json=body, headers=h)
        assert answer.status_code == 422, answer.text
        detail: list[dict[str, object]] = answer.json()["detail"]
        return detail[0]

    at = FAULT.isoformat()
    assert (await problem({"service": "nowhere", "at": at}))["field"] == "service"
    missing = await problem({"service": "web", "metric": "nope", "at": at})
    assert missing["field"] == "metric" and "it has cpu_usage_ratio" in str(missing["msg"])
    empty = await problem({"service": "web", "at": (NOW + timedelta(days=2)).isoformat()})
    assert empty["field"] == "at" and "no samples" in str(empty["msg"])
    naive = await problem({"service": "web", "at": "2024-01-01T00:00:00"})
    assert naive["field"] == "at"
    assert (await problem({"service": "web"}))["field"] == "body.at"
    assert (await problem({"service": "web", "at": at, "after_minutes": -1}))["field"] == (
        "body.after_minutes"
    )
    assert (await problem({"service": "bad name!", "at": at}))["field"] == "body.service"


async def test_a_restricted_member_sees_candidates_of_their_teams_only(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str, mailbox: Mailbox
) -> None:
    await seed(client, account, api_key)
    member = await add_member(client, app, mailbox, account, "dev@example.com", "member")
    for name, services in (("edge", ["web", "api"]), ("data", ["db", "search"])):
        team = await client.post(
            "/api/v1/teams", json={"name": name, "services": services}, headers=account.headers
        )
        assert team.status_code == 201, team.text
        if name == "edge":
            path = f"/api/v1/teams/{team.json()['id']}/members/{member.user_id}"
            assert (await client.put(path, headers=account.headers)).status_code == 200
    incident = {"service": "api", "type": "latency_spike", "start": FAULT.isoformat()}
    hidden = {"service": "db", "type": "latency_spike", "start": FAULT.isoformat()}
    posted = await client.post(
        "/api/v1/incidents", json={"incidents": [incident, hidden]}, headers=bearer(api_key)
    )
    assert posted.status_code in (200, 201), posted.text
    restricted = await client.put(
        "/api/v1/team-settings", json={"restrict_members_to_teams": True}, headers=account.headers
    )
    assert restricted.status_code == 200
    body = {"service": "web", "metric": "request_duration_seconds", "at": FAULT.isoformat()}

    owner = (await client.post("/api/v1/rca", json=body, headers=account.headers)).json()
    assert owner["verdict"] == "root_cause" and owner["candidates"][0]["service"] == "db"
    answer = await client.post("/api/v1/rca", json=body, headers=member.headers)
    assert answer.status_code == 200, answer.text
    seen = answer.json()
    # The database is the cause, but another team's: the member is told so, not shown it.
    assert seen["verdict"] == "inconclusive"
    assert "outside your teams" in seen["reason"]
    assert {c["service"] for c in seen["candidates"]} == {"web", "api"}
    assert all(c["explained_by"] is None for c in seen["candidates"])
    assert "db" not in answer.text and "search" not in answer.text
    about_db = await client.post(
        "/api/v1/rca", json=body | {"service": "db"}, headers=member.headers
    )
    assert about_db.status_code == 404

    listed = (await client.get("/api/v1/incidents", headers=member.headers)).json()["items"]
    assert [i["service"] for i in listed] == ["api"]
    everything = (await client.get("/api/v1/incidents", headers=account.headers)).json()["items"]
    assert sorted(i["service"] for i in everything) == ["api", "db"]
    links = {i["service"]: i["rca"] for i in everything}
    assert (await client.get(links["api"], headers=member.headers)).status_code == 200
    assert (await client.get(links["db"], headers=member.headers)).status_code == 404
    assert (await client.get(links["db"], headers=account.headers)).status_code == 200
