"""What a member of a restricted org reads: an org with teams alpha (service `a`) and beta
(service `b`), and a member of alpha. Every read about services shows the member `a` and
never `b` (404 for `b`'s own things), while the owner sees both; lifting the restriction
shows the member both again."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import Account, Mailbox, add_member, bearer, mailbox
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.models import FailurePrediction, ModelVersion

__all__ = ["mailbox"]  # fixtures

BOTH = {"a", "b"}
# `a` takes the users' traffic and calls `b`.
TOPOLOGY = """\
version: 1
services:
  - name: a
    entry_point: true
    depends_on: [b]
  - name: b
"""


@dataclass
class Org:
    client: httpx.AsyncClient
    owner: Account
    member: Account
    viewer: Account
    loner: Account  # a member of no team
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
        for metric, value in (
            ("error_rate", 0.02),
            ("latency_p99_ms", 80.0),
            ("latency_p50_ms", 30.0),
            ("cpu_pct", 40.0),
        )
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
    viewer = await add_member(client, app, mailbox, account, "watch@example.com", "viewer")
    loner = await add_member(client, app, mailbox, account, "new@example.com", "member")
    for team, service in (("alpha", "a"), ("beta", "b")):
        response = await client.post(
            "/api/v1/teams", json={"name": team, "services": [service]}, headers=account.headers
        )
        assert response.status_code == 201, response.text
        for person in (member, viewer) if team == "alpha" else ():
            await client.put(
                f"/api/v1/teams/{response.json()['id']}/members/{person.user_id}",
                headers=account.headers,
            )
    for ago in (120, 60):
        await _push(client, api_key, ago)
    now = datetime.now(UTC).isoformat()
    logs = [
        {"service": name, "ts": now, "level": "error", "message": "timeout"} for name in ("a", "b")
    ]
    response = await client.post("/api/v1/logs", json={"logs": logs}, headers=bearer(api_key))
    assert response.status_code == 200, response.text
    world = Org(client, account, member, viewer, loner, api_key, services)
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
    for name in ("a", "b"):
        response = await client.put(
            "/api/v1/metric-roles",
            json={"metric": "queue_depth", "service": name, "role": "saturation"},
            headers=account.headers,
        )
        assert response.status_code == 200, response.text
    await _store_predictions(app, world)
    ends = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    alerts = [
        {"labels": {"alertname": "Errors", "service": name}, "endsAt": ends} for name in ("a", "b")
    ]
    response = await client.post("/api/v2/alerts", json=alerts, headers=bearer(api_key))
    assert response.status_code == 200, response.text
    start = (datetime.now(UTC) - timedelta(minutes=30)).isoformat()
    incidents = [
        {"service": name, "type": "latency_spike", "start": start, "title": f"{team} outage"}
        for name, team in (("a", "Alpha"), ("b", "Beta"))
    ]
    response = await client.post(
        "/api/v1/incidents", json={"incidents": incidents}, headers=bearer(api_key)
    )
    assert response.status_code in (200, 201), response.text
    response = await client.put(
        "/api/v1/topology",
        content=TOPOLOGY,
        headers=account.headers | {"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text
    await world.restrict(True)
    return world


async def _store_predictions(app: FastAPI, org: Org) -> None:
    """A retired model's predictions about both services (no active model: on-demand
    predictions answer 409)."""
    at = datetime.now(UTC) - timedelta(minutes=10)
    async with services_of(app).db.session() as session:
        version = ModelVersion(
            org_id=org.owner.org_id, version=1, status="retired", source="imported", features=[],
            horizons=[24], train_start=at, train_end=at, metrics={}, meta={}, artifact=b"",
        )  # fmt: skip
        session.add(version)
        await session.flush()
        for service_id in org.services.values():
            session.add(
                FailurePrediction(
                    org_id=org.owner.org_id, service_id=service_id, model_version_id=version.id,
                    ts=at, horizon_h=24, probability=0.3, alarm=False, incident_type="latency",
                    confidence=0.5, risk_level="medium", factors=[], root_cause=None,
                )
            )  # fmt: skip
        await session.commit()


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


async def _predictions(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/predictions")).json()
    return {p["service"] for p in body["items"]}


async def _metric_roles(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/metric-roles")).json()
    return {r["service"] for r in body["items"]}


async def _graph(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/topology/graph")).json()
    ends = {name for e in body["edges"] for name in (e["source"], e["target"])}
    return {n["id"] for n in body["nodes"]} | ends


async def _cascade(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/topology/cascade")).json()
    named = set()
    for item in body["services"]:
        named |= {item["service"], *item["root_path"]}
        named |= {c["dependency"] for c in item["contributors"]}
    return named


async def _blast_radius(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/topology/blast-radius")).json()
    return {name for i in body["services"] for name in (i["service"], *i["affected"])}


async def _critical_path(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/topology/critical-path")).json()
    return {*body["path"], *(s["service"] for s in body["steps"])}


async def _live_detectors(org: Org, who: Account) -> set[str]:
    return {s["service"] for s in (await org.get(who, "/api/v1/detectors/series")).json()}


async def _alerts(org: Org, who: Account) -> set[str]:
    return {a["service"] for a in (await org.get(who, "/api/v1/alerts")).json()["items"]}


async def _incidents(org: Org, who: Account) -> set[str]:
    return {i["service"] for i in (await org.get(who, "/api/v1/incidents")).json()["items"]}


def _export(kind: str) -> Lister:
    async def rows(org: Org, who: Account) -> set[str]:
        response = await org.get(who, f"/api/v1/export/{kind}", format="jsonl")
        assert response.status_code == 200, response.text
        return {json.loads(line)["service"] for line in response.text.splitlines() if line}

    return rows


async def _metric_query(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/api/v1/metrics", metric="error_rate")).json()
    return {series["service"] for series in body["series"]}


async def _logs(org: Org, who: Account) -> set[str]:
    return {line["service"] for line in (await org.get(who, "/api/v1/logs")).json()["logs"]}


async def _promql_query(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/prometheus/api/v1/query", query="error_rate")).json()
    return {item["metric"]["service"] for item in body["data"]["result"]}


async def _promql_series(org: Org, who: Account) -> set[str]:
    body = (await org.get(who, "/prometheus/api/v1/series", **{"match[]": "error_rate"})).json()
    return {labels["service"] for labels in body["data"]}


async def _exposition(org: Org, who: Account) -> set[str]:
    text = (await org.get(who, "/api/v1/prometheus/metrics")).text
    return set(re.findall(r'service="([^"]+)"', text))


LISTS: dict[str, Lister] = {
    "health of services": _health_services,
    "org health": _org_health,
    "risk": _risk,
    "SLOs": _slos,
    "SLO status": _slo_status,
    "predictions": _predictions,
    "metric roles": _metric_roles,
    "topology graph": _graph,
    "cascade": _cascade,
    "blast radius": _blast_radius,
    "critical path": _critical_path,
    "live detectors": _live_detectors,
    "alerts": _alerts,
    "incidents": _incidents,
    **{
        f"{kind} export": _export(kind)
        for kind in ("metrics", "alerts", "incidents", "predictions")
    },
    "Prometheus exposition": _exposition,
    "metric query": _metric_query,
    "logs": _logs,
    "PromQL query": _promql_query,
    "PromQL series": _promql_series,
}


def _every(names: set[str]) -> dict[str, set[str]]:
    return {key: names for key in LISTS}


async def _seen(org: Org, who: Account) -> dict[str, set[str]]:
    return {name: await lister(org, who) for name, lister in LISTS.items()}


async def test_lists_and_aggregates_show_a_restricted_member_only_their_teams_services(
    org: Org,
) -> None:
    assert await _seen(org, org.member) == _every({"a"})
    assert await _seen(org, org.viewer) == _every({"a"})
    assert await _seen(org, org.loner) == _every(set())
    assert await _seen(org, org.owner) == _every(BOTH)
    # An API key acts for the whole org.
    assert await _seen(org, Account(0, org.owner.org_id, "key", org.key)) == _every(BOTH)
    await org.restrict(False)
    assert await _seen(org, org.member) == _every(BOTH)


async def test_the_org_score_of_a_restricted_member_is_that_of_their_services(org: Org) -> None:
    member = (await org.get(org.member, "/api/v1/health")).json()
    owner = (await org.get(org.owner, "/api/v1/health")).json()
    assert sum(member["counts"].values()) == 1 and sum(owner["counts"].values()) == 2
    assert "b" not in member["summary"].split()


# ---------------------------------------------------------------- one service's things

Request = tuple[str, str, dict[str, Any] | None, int]


def _own_things(org: Org, name: str) -> list[Request]:
    """(method, path, body, status when visible) of the requests about service `name`."""
    service, slo = org.services[name], org.slos[name]
    return [
        ("GET", f"/api/v1/health/services/{service}", None, 200),
        ("PUT", f"/api/v1/health/config/services/{service}", {"weights": {}}, 200),
        ("GET", f"/api/v1/slos/{slo}", None, 200),
        ("GET", f"/api/v1/slos/{slo}/status", None, 200),
        ("POST", "/api/v1/predict", {"service": name}, 409),  # no active model
        ("GET", f"/api/v1/topology/blast-radius?service={name}", None, 200),
        ("GET", f"/api/v1/drift?service={name}", None, 422),  # not an ML model
        ("GET", f"/api/v1/forecast?service={name}&metric=cpu_pct&threshold=90", None, 200),
        ("GET", f"/api/v1/detectors/series?service={name}", None, 200),
        (
            "POST",
            "/api/v1/chaos/inject",
            {"target_service": name, "chaos_type": "cpu_spike", "duration": 60},
            409,  # the simulated fleet is off
        ),
    ]


async def _statuses(org: Org, who: Account, name: str) -> list[tuple[str, int]]:
    found = []
    for method, path, body, _ in _own_things(org, name):
        response = await org.client.request(method, path, json=body, headers=who.headers)
        found.append((f"{method} {path}", response.status_code))
    return found


def _expected(org: Org, name: str, visible: bool) -> list[tuple[str, int]]:
    return [
        (f"{method} {path}", status if visible else 404)
        for method, path, _, status in _own_things(org, name)
    ]


async def test_another_teams_service_is_not_found_for_a_restricted_member(org: Org) -> None:
    assert await _statuses(org, org.member, "b") == _expected(org, "b", visible=False)
    assert await _statuses(org, org.owner, "b") == _expected(org, "b", visible=True)
    assert await _statuses(org, org.member, "a") == _expected(org, "a", visible=True)
    await org.restrict(False)
    assert await _statuses(org, org.member, "b") == _expected(org, "b", visible=True)


async def test_a_restricted_member_cannot_define_slos_for_another_teams_service(
    org: Org,
) -> None:
    def slo(service: str, name: str = "latency") -> dict[str, Any]:
        return {
            "name": name,
            "service": service,
            "objective": 0.99,
            "sli": {"type": "ratio", "ratio": {"query": "error_rate"}},
        }

    async def post(who: Account, path: str, **kwargs: Any) -> int:
        response = await org.client.post(path, headers=who.headers, **kwargs)
        return response.status_code

    assert await post(org.member, "/api/v1/slos", json=slo("b")) == 404
    moved = await org.client.put(
        f"/api/v1/slos/{org.slos['a']}", json=slo("b"), headers=org.member.headers
    )
    assert moved.status_code == 404
    yaml = "slos:\n  - name: latency\n    service: b\n    objective: 0.99\n"
    yaml += "    sli: {type: ratio, ratio: {query: error_rate}}\n"
    headers = {"Content-Type": "application/yaml"}
    imported = await org.client.post(
        "/api/v1/slos/import", content=yaml, headers=org.member.headers | headers
    )
    assert imported.status_code == 404
    assert await post(org.member, "/api/v1/slos", json=slo("a")) == 201
    assert await post(org.owner, "/api/v1/slos", json=slo("b")) == 201
    imported = await org.client.post(
        "/api/v1/slos/import",
        content=yaml.replace("latency", "errors"),
        headers=org.owner.headers | headers,
    )
    assert imported.status_code == 200, imported.text


async def test_a_restricted_member_reads_and_replaces_their_services_health_overrides(
    org: Org,
) -> None:
    override = {"weights": {"error_rate": 2.0}}
    for name in ("a", "b"):
        response = await org.client.put(
            f"/api/v1/health/config/services/{org.services[name]}",
            json=override,
            headers=org.owner.headers,
        )
        assert response.status_code == 200, response.text
        assert set(response.json()["services"]) <= {"a", "b"}

    async def overrides(who: Account) -> set[str]:
        return set((await org.get(who, "/api/v1/health/config")).json()["services"])

    assert await overrides(org.member) == {"a"}
    assert await overrides(org.owner) == BOTH
    config = (await org.get(org.member, "/api/v1/health/config")).json()
    refused = await org.client.put(
        "/api/v1/health/config",
        json=config | {"services": {"b": override}},
        headers=org.member.headers,
    )
    assert refused.status_code == 404
    # Replacing the config with no overrides drops the member's own, not another team's.
    replaced = await org.client.put(
        "/api/v1/health/config", json=config | {"services": {}}, headers=org.member.headers
    )
    assert replaced.status_code == 200, replaced.text
    assert await overrides(org.owner) == {"b"}


async def test_a_restricted_member_sees_and_stops_only_their_teams_simulated_faults(
    app: FastAPI, client: httpx.AsyncClient, account: Account, mailbox: Mailbox
) -> None:
    # Starting the simulated fleet declares its services (auth, api-gateway, ...).
    response = await client.put(
        "/api/v1/chaos/simulator", json={"enabled": True}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    member = await add_member(client, app, mailbox, account, "dev@example.com", "member")
    team = await client.post(
        "/api/v1/teams", json={"name": "identity", "services": ["auth"]}, headers=account.headers
    )
    assert team.status_code == 201, team.text
    path = f"/api/v1/teams/{team.json()['id']}/members/{member.user_id}"
    assert (await client.put(path, headers=account.headers)).status_code == 200
    faults = {}
    for name in ("auth", "api-gateway"):
        body = {"target_service": name, "chaos_type": "cpu_spike", "duration": 3600}
        response = await client.post("/api/v1/chaos/inject", json=body, headers=account.headers)
        assert response.status_code == 201, response.text
        faults[name] = response.json()["id"]
    response = await client.put(
        "/api/v1/team-settings", json={"restrict_members_to_teams": True}, headers=account.headers
    )
    assert response.status_code == 200

    async def active(who: Account) -> set[str]:
        listed = (await client.get("/api/v1/chaos/faults", headers=who.headers)).json()
        return {f["target"] for f in listed}

    assert await active(member) == {"auth"}
    assert await active(account) == {"auth", "api-gateway"}
    gateway = f"/api/v1/chaos/faults/{faults['api-gateway']}"
    assert (await client.delete(gateway, headers=member.headers)).status_code == 404
    stopped = (await client.post("/api/v1/chaos/reset", headers=member.headers)).json()
    assert [f["target"] for f in stopped] == ["auth"]
    assert await active(account) == {"api-gateway"}


# ---------------------------------------------------------------- reports


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    run = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return run.stdout.decode()


async def test_a_restricted_members_report_is_about_their_teams_services(
    org: Org, tmp_path: Path
) -> None:
    async def report(who: Account) -> str:
        response = await org.get(who, "/api/v1/reports/reliability.pdf")
        assert response.status_code == 200, response.text
        return _text(response.content, tmp_path)

    member, owner = await report(org.member), await report(org.owner)
    assert " 1 services " in member and " 2 services " in owner
    assert "Alpha outage" in member and "Beta outage" not in member
    assert "a-availability" in member and "b-availability" not in member
    assert "Beta outage" in owner and "b-availability" in owner


async def test_stored_reports_cover_the_org_and_are_kept_from_a_restricted_member(
    org: Org,
) -> None:
    stored = await org.client.post("/api/v1/reports", json={}, headers=org.owner.headers)
    assert stored.status_code == 201, stored.text
    url = stored.json()["url"]
    refused = await org.client.post("/api/v1/reports", json={}, headers=org.member.headers)
    assert refused.status_code == 403
    assert (await org.get(org.member, "/api/v1/reports")).json()["reports"] == []
    assert (await org.get(org.member, url)).status_code == 404
    assert (await org.get(org.owner, url)).status_code == 200
    await org.restrict(False)
    assert len((await org.get(org.member, "/api/v1/reports")).json()["reports"]) == 1
    assert (await org.get(org.member, url)).status_code == 200
