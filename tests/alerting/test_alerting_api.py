"""The alerting API: rules, YAML import, alert history and lifecycle, silences, maintenance
windows, playbooks, topology, incidents (batch, CSV, webhooks) and tenant isolation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from factories import Account, bearer, create_api_key, register
from fastapi import FastAPI

from failcast.alerting import evaluate_org
from failcast.db.transactions import session_scope
from failcast.deps import services_of

T0 = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=1)
RULE = {"kind": "threshold", "name": "hot", "metric": "cpu_pct", "value": 90, "window": "1m"}


def at(minute: float) -> str:
    return (T0 + timedelta(minutes=minute)).isoformat()


async def fire_alerts(
    app: FastAPI, client: httpx.AsyncClient, account: Account, key: str, services: list[str]
) -> list[dict[str, Any]]:
    """One firing `hot` alert per service, evaluated at minute 1."""
    samples = [
        {"service": s, "metric": "cpu_pct", "ts": at(m), "value": 99.0}
        for s in services
        for m in (0, 1)
    ]
    assert (
        await client.post("/api/v1/metrics", json={"samples": samples}, headers=bearer(key))
    ).status_code == 200
    response = await client.post(
        "/api/v1/alert-rules", json=RULE | {"severity": "critical"}, headers=account.headers
    )
    assert response.status_code == 201, response.text
    async with session_scope(services_of(app).db) as session:
        await evaluate_org(session, account.org_id, T0 + timedelta(minutes=1))
    items: list[dict[str, Any]] = (
        await client.get("/api/v1/alerts", headers=account.headers)
    ).json()["items"]
    return items


async def test_rule_crud_and_conflicts(client: httpx.AsyncClient, account: Account) -> None:
    h = account.headers
    created = await client.post("/api/v1/alert-rules", json=RULE, headers=h)
    assert created.status_code == 201
    rule = created.json()
    assert rule["spec"]["op"] == ">" and rule["severity"] == "warning"
    assert (await client.post("/api/v1/alert-rules", json=RULE, headers=h)).status_code == 409
    bad = await client.post("/api/v1/alert-rules", json=RULE | {"op": "=>"}, headers=h)
    assert bad.status_code == 422
    assert any(p["field"].endswith("op") for p in bad.json()["detail"])
    replaced = await client.put(
        f"/api/v1/alert-rules/{rule['id']}", json=RULE | {"value": 95}, headers=h
    )
    assert replaced.json()["spec"]["value"] == 95
    assert [r["name"] for r in (await client.get("/api/v1/alert-rules", headers=h)).json()] == [
        "hot"
    ]
    assert (await client.delete(f"/api/v1/alert-rules/{rule['id']}", headers=h)).status_code == 204
    assert (await client.get(f"/api/v1/alert-rules/{rule['id']}", headers=h)).status_code == 404


async def test_yaml_import_creates_replaces_and_reports_lines(
    client: httpx.AsyncClient, account: Account
) -> None:
    h = account.headers | {"Content-Type": "application/yaml"}
    text = (
        "rules:\n"
        "  - {name: hot, kind: threshold, metric: cpu_pct, value: 90}\n"
        "  - name: burn\n"
        "    kind: slo_burn\n"
    )
    response = await client.post("/api/v1/alert-rules/import", content=text, headers=h)
    assert response.json() == {"created": ["hot", "burn"], "updated": []}
    response = await client.post("/api/v1/alert-rules/import", content=text, headers=h)
    assert response.json() == {"created": [], "updated": ["hot", "burn"]}
    broken = text + "  - name: x\n    kind: drift\n    above: -1\n"
    response = await client.post("/api/v1/alert-rules/import", content=broken, headers=h)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["line"], problem["field"]) == (7, "rules.2.drift.above")
    names = [r["name"] for r in (await client.get("/api/v1/alert-rules", headers=h)).json()]
    assert names == ["burn", "hot"]  # nothing of the broken file was stored


async def test_alert_history_filters_and_pages(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    fired = await fire_alerts(app, client, account, api_key, ["a-svc", "b-svc", "c-svc"])
    assert len(fired) == 3 and {a["severity"] for a in fired} == {"critical"}
    h = account.headers
    page1 = (await client.get("/api/v1/alerts", params={"limit": 2}, headers=h)).json()
    page2 = (
        await client.get(
            "/api/v1/alerts", params={"limit": 2, "cursor": page1["next_cursor"]}, headers=h
        )
    ).json()
    ids = [a["id"] for a in page1["items"] + page2["items"]]
    assert sorted(ids) == sorted(a["id"] for a in fired) and len(set(ids)) == 3

    async def count(**params: Any) -> int:
        response = await client.get("/api/v1/alerts", params=params, headers=h)
        assert response.status_code == 200, response.text
        return len(response.json()["items"])

    assert await count(service="b-svc") == 1
    assert await count(text="C-SVC") == 1
    assert await count(severity="warning") == 0
    assert await count(state="resolved") == 0
    assert await count(end=at(0)) == 0  # started at minute 1
    assert await count(start=at(0), end=at(2)) == 3
    # A severity or state that no alert can have is a mistake in the request, not an empty list.
    for params in ({"severity": "null"}, {"state": "gone"}):
        response = await client.get("/api/v1/alerts", params=params, headers=h)
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["field"] == f"query.{next(iter(params))}.0"


async def test_lifecycle_endpoints_write_the_timeline(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    [alert] = await fire_alerts(app, client, account, api_key, ["api"])
    h, url = account.headers, f"/api/v1/alerts/{alert['id']}"
    assert (await client.post(f"{url}/incident", headers=h)).status_code == 409  # not resolved
    assert (await client.post(f"{url}/ack", headers=h)).json()["state"] == "acknowledged"
    assigned = await client.post(f"{url}/assign", json={"assignee": "dana"}, headers=h)
    assert assigned.json()["assignee"] == "dana"
    await client.post(f"{url}/comment", json={"text": "looking at the db"}, headers=h)
    resolved = await client.post(f"{url}/resolve", json={"message": "fixed"}, headers=h)
    assert resolved.json()["state"] == "resolved"
    assert (await client.post(f"{url}/ack", headers=h)).status_code == 409
    marked = await client.post(f"{url}/incident", json={"root_cause_service": "db"}, headers=h)
    assert marked.status_code == 200, marked.text
    timeline = [(e["kind"], e["actor"], e["message"]) for e in marked.json()["timeline"]]
    actor = f"user:{account.user_id}"
    assert [t[0] for t in timeline] == [
        "fired",
        "acknowledged",
        "assigned",
        "comment",
        "resolved",
        "incident",
    ]
    assert timeline[3] == ("comment", actor, "looking at the db")
    incident_id = marked.json()["incident_id"]
    [incident] = (await client.get("/api/v1/incidents", headers=h)).json()["items"]
    assert incident["id"] == incident_id
    assert (incident["service"], incident["source"], incident["root_cause_service"]) == (
        "api",
        "alert",
        "db",
    )
    assert incident["type"] == "resource_exhaustion"


async def test_silence_crud_and_expiry(client: httpx.AsyncClient, account: Account) -> None:
    h = account.headers
    bad = await client.post(
        "/api/v1/silences", json={"matchers": ["oops"], "duration": "1h"}, headers=h
    )
    assert bad.status_code == 422
    created = await client.post(
        "/api/v1/silences",
        json={
            "matchers": ['service=~"db-.*"', {"name": "env", "op": "!=", "value": "dev"}],
            "duration": "2h",
            "comment": "upgrade",
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    silence = created.json()
    assert silence["matchers"] == ['service=~"db-.*"', 'env!="dev"']
    assert silence["status"] == "active"
    expired = await client.delete(f"/api/v1/silences/{silence['id']}", headers=h)
    assert expired.json()["status"] == "expired"
    assert (await client.get("/api/v1/silences", headers=h)).json() == []
    listed = await client.get("/api/v1/silences", params={"include_expired": True}, headers=h)
    assert [s["id"] for s in listed.json()] == [silence["id"]]


async def test_maintenance_window_suppresses_its_service(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    h = account.headers
    response = await client.post(
        "/api/v1/maintenance-windows",
        json={"service": "api", "starts_at": at(-10), "ends_at": at(30), "reason": "upgrade"},
        headers=h,
    )
    assert response.status_code == 201, response.text
    fired = {
        a["service"]: a for a in await fire_alerts(app, client, account, api_key, ["api", "web"])
    }
    assert fired["api"]["suppressed_by"] == f"maintenance:{response.json()['id']}"
    assert fired["web"]["suppressed_by"] is None


async def test_playbooks_default_custom_and_reset(
    client: httpx.AsyncClient, account: Account
) -> None:
    h = account.headers
    books = {
        b["incident_type"]: b for b in (await client.get("/api/v1/playbooks", headers=h)).json()
    }
    assert len(books) == 6 and not books["cascade"]["customised"]
    default = books["cascade"]["steps"]
    custom = await client.put("/api/v1/playbooks/cascade", json={"steps": ["Call Sam"]}, headers=h)
    assert custom.json() == {"incident_type": "cascade", "steps": ["Call Sam"], "customised": True}
    reset = await client.delete("/api/v1/playbooks/cascade", headers=h)
    assert reset.json()["steps"] == default
    assert (
        await client.put("/api/v1/playbooks/nope", json={"steps": ["x"]}, headers=h)
    ).status_code == 422


async def test_topology_round_trip_and_yaml_errors(
    client: httpx.AsyncClient, account: Account
) -> None:
    h = account.headers
    spec = {
        "services": [
            {"name": "web", "depends_on": ["db", {"target": "cache", "criticality": "soft"}]},
            {"name": "db", "tier": 1},
            {"name": "cache"},
        ]
    }
    stored = await client.put("/api/v1/topology", json=spec, headers=h)
    assert stored.status_code == 200, stored.text
    back = (await client.get("/api/v1/topology", headers=h)).json()
    assert [s["name"] for s in back["services"]] == ["web", "db", "cache"]
    assert back["services"][0]["depends_on"] == [
        {"target": "db", "criticality": "hard", "weight": None, "origin": "declared"},
        {"target": "cache", "criticality": "soft", "weight": None, "origin": "declared"},
    ]
    assert back["services"][1]["tier"] == 1
    text = "services:\n  - name: web\n    depends_on: [ghost]\n"
    bad = await client.put(
        "/api/v1/topology", content=text, headers=h | {"Content-Type": "application/yaml"}
    )
    assert bad.status_code == 422
    [problem] = bad.json()["detail"]
    assert problem["line"] == 3 and "ghost" in problem["msg"]


async def test_incident_batch_is_all_or_nothing_and_idempotent(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    good = {
        "service": "api",
        "type": "latency_spike",
        "start": 1_700_000_000,
        "end": 1_700_000_600,
        "root_cause_service": "db",
        "source": "simulator",
        "title": "slow",
    }
    bad = good | {"type": "meltdown", "end": 1_600_000_000}
    response = await client.post(
        "/api/v1/incidents", json={"incidents": [good, bad]}, headers=bearer(api_key)
    )
    assert response.status_code == 422
    assert {(p["index"], p["field"]) for p in response.json()["detail"]} == {(1, "type")}
    assert (await client.get("/api/v1/incidents", headers=account.headers)).json()["items"] == []
    for _ in range(2):
        response = await client.post(
            "/api/v1/incidents", json={"incidents": [good]}, headers=bearer(api_key)
        )
        assert response.status_code == 200
    [incident] = (await client.get("/api/v1/incidents", headers=account.headers)).json()["items"]
    assert incident["duration_minutes"] == 10.0
    assert incident["start"].startswith("2023-11-14T22:13:20")


async def test_incident_csv_import(client: httpx.AsyncClient, account: Account) -> None:
    h = account.headers | {"Content-Type": "text/csv"}
    text = (
        "service,type,start,end,root_cause_service,title\n"
        "api,latency_spike,2026-01-01T10:00:00Z,2026-01-01T10:30:00Z,db,slow api\n"
        "etl,pipeline_failure,2026-01-02T00:00:00Z,,,\n"
    )
    response = await client.post("/api/v1/incidents/import", content=text, headers=h)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 2
    items = (await client.get("/api/v1/incidents", headers=account.headers)).json()["items"]
    assert [(i["service"], i["end"], i["source"]) for i in items] == [
        ("etl", None, "import"),
        ("api", "2026-01-01T10:30:00Z", "import"),
    ]
    broken = text + "web,latency_spike,yesterday,,,\n"
    response = await client.post("/api/v1/incidents/import", content=broken, headers=h)
    assert response.status_code == 422
    assert response.json()["detail"][0]["index"] == 2
    missing = await client.post("/api/v1/incidents/import", content="service,type\n", headers=h)
    assert missing.json()["detail"] == [{"field": "start", "msg": "required column is missing"}]


async def test_alertmanager_and_generic_webhooks_become_incidents(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    payload = {
        "version": "4",
        "groupKey": '{}:{alertname="HighLatency"}',
        "status": "firing",
        "receiver": "failcast",
        "groupLabels": {"alertname": "HighLatency"},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://am:9093",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency", "service": "api"},
                "annotations": {"summary": "p99 above 2 s"},
                "startsAt": "2026-03-01T10:00:00.123456789Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prom/graph",
                "fingerprint": "abc123",
            }
        ],
    }
    url = "/api/v1/webhooks/alertmanager"
    assert (await client.post(url, json=payload, headers=bearer(api_key))).status_code == 200
    resolved = payload | {"status": "resolved"}
    resolved["alerts"] = [
        payload["alerts"][0] | {"status": "resolved", "endsAt": "2026-03-01T10:20:00Z"}  # type: ignore[index, operator]
    ]
    assert (await client.post(url, json=resolved, headers=bearer(api_key))).status_code == 200
    [incident] = (await client.get("/api/v1/incidents", headers=account.headers)).json()["items"]
    assert (incident["type"], incident["source"], incident["title"]) == (
        "latency_spike",
        "webhook",
        "p99 above 2 s",
    )
    assert incident["duration_minutes"] == round(1199.876543 / 60, 3)
    assert incident["details"]["fingerprint"] == "abc123"
    nameless = payload | {"alerts": [payload["alerts"][0] | {"labels": {"alertname": "X"}}]}  # type: ignore[index, operator]
    response = await client.post(url, json=nameless, headers=bearer(api_key))
    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "labels.service"
    read_only = await create_api_key(client, account, ["read"])
    assert (await client.post(url, json=payload, headers=bearer(read_only))).status_code == 403

    generic = {"service": "etl", "type": "pipeline_failure", "start": "2026-03-02T00:00:00Z"}
    response = await client.post(
        "/api/v1/webhooks/incidents", json=generic, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text
    items = (
        await client.get("/api/v1/incidents", params={"service": "etl"}, headers=account.headers)
    ).json()["items"]
    assert [(i["type"], i["source"]) for i in items] == [("pipeline_failure", "webhook")]


async def test_another_orgs_objects_answer_404(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    [alert] = await fire_alerts(app, client, account, api_key, ["api"])
    other = await register(client, "other@example.com", "Other")
    rules = (await client.get("/api/v1/alert-rules", headers=account.headers)).json()
    for method, url in [
        ("GET", f"/api/v1/alerts/{alert['id']}"),
        ("POST", f"/api/v1/alerts/{alert['id']}/ack"),
        ("GET", f"/api/v1/alert-rules/{rules[0]['id']}"),
        ("DELETE", f"/api/v1/alert-rules/{rules[0]['id']}"),
    ]:
        response = await client.request(method, url, headers=other.headers)
        assert response.status_code == 404, (method, url)
    assert (await client.get("/api/v1/alerts", headers=other.headers)).json()["items"] == []
