"""The live simulator inside the server: ticks through ingestion, faults through the API."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from factories import Account, register
from fastapi import FastAPI

from failcast.deps import services_of

T0 = float(int(time.time()) - 3600)


async def enable(client: httpx.AsyncClient, account: Account) -> dict[str, Any]:
    response = await client.put(
        "/api/v1/chaos/simulator", json={"enabled": True}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def value(app: FastAPI, message: dict[str, Any], service: str, metric: str) -> float:
    return float(message["values"][service][metric])


async def test_enabling_declares_the_fleet_and_ticks_go_through_ingestion(
    client: httpx.AsyncClient, account: Account, app: FastAPI
) -> None:
    fleet = await enable(client, account)
    assert fleet["enabled"] is True
    names = {s["name"] for s in fleet["services"]}
    assert {"api-gateway", "auth", "user", "checkout", "database", "cache"} <= names
    services = (await client.get("/api/v1/services", headers=account.headers)).json()
    kinds = {s["name"]: s["kind"] for s in services}
    assert kinds["fraud-model"] == "ml_model"
    assert kinds["orders-etl"] == "data_pipeline"

    simulator = services_of(app).simulator
    async with services_of(app).hub.subscribe(f"org:{account.org_id}") as subscription:
        await simulator.tick(now=T0)
        message = await subscription.get()
        while message["type"] != "tick":  # the ingest it went through is announced too
            message = await subscription.get()
    assert message["type"] == "tick"
    assert message["org_id"] == account.org_id
    series = sum(len(s["metrics"]) for s in fleet["services"])
    stats = (await client.get("/api/v1/stats", headers=account.headers)).json()
    assert stats["samples"] == series
    assert sum(len(v) for v in message["values"].values()) == series


async def test_a_fault_moves_its_metric_and_recovers_after_its_duration(
    client: httpx.AsyncClient, account: Account, app: FastAPI
) -> None:
    await enable(client, account)
    simulator = services_of(app).simulator
    baseline = simulator.new_fleet(account.org_id)  # the same fleet with no faults
    response = await client.post(
        "/api/v1/chaos/inject",
        json={"target_service": "auth", "chaos_type": "cpu_spike", "duration": "10m"},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    fault = response.json()
    start = fault["start"]
    assert fault["end"] == pytest.approx(start + 600)

    during = await simulator.tick_org(account.org_id, start + 120)
    healthy = {(s.service, s.metric): s.value for s in baseline.tick(start + 120)}
    lift = value(app, during, "auth", "cpu_pct") - healthy[("auth", "cpu_pct")]
    assert 20 <= lift <= 40
    # Services that do not depend on auth are untouched.
    assert value(app, during, "database", "cpu_pct") == pytest.approx(
        healthy[("database", "cpu_pct")]
    )
    assert [f["target"] for f in during["active_faults"]] == ["auth"]

    after = await simulator.tick_org(account.org_id, start + 900)
    healthy = {(s.service, s.metric): s.value for s in baseline.tick(start + 900)}
    assert value(app, after, "auth", "cpu_pct") == pytest.approx(healthy[("auth", "cpu_pct")])
    assert after["active_faults"] == []


async def test_faults_survive_a_restart_and_reset_stops_them(
    client: httpx.AsyncClient, account: Account, app: FastAPI
) -> None:
    await enable(client, account)
    await client.post(
        "/api/v1/chaos/inject",
        json={"target_service": "api-gateway", "chaos_type": "network_latency", "duration": 3600},
        headers=account.headers,
    )
    from failcast.chaos.runtime import Simulator

    restarted = Simulator(
        services_of(app).db,
        services_of(app).ingestor,
        services_of(app).hub,
        services_of(app).settings,
    )
    message = await restarted.tick_org(account.org_id, time.time())
    assert [f["kind"] for f in message["active_faults"]] == ["network_latency"]
    assert value(app, message, "api-gateway", "latency_p50_ms") > 1000

    active = (await client.get("/api/v1/chaos/faults", headers=account.headers)).json()
    assert len(active) == 1
    stopped = (await client.post("/api/v1/chaos/reset", headers=account.headers)).json()
    assert [f["id"] for f in stopped] == [active[0]["id"]]
    assert (await client.get("/api/v1/chaos/faults", headers=account.headers)).json() == []
    message = await services_of(app).simulator.tick_org(account.org_id, time.time() + 1)
    assert message["active_faults"] == []


async def test_bad_injections_say_what_is_wrong(
    client: httpx.AsyncClient, account: Account
) -> None:
    body = {"target_service": "auth", "chaos_type": "cpu_spike", "duration": 60}
    response = await client.post("/api/v1/chaos/inject", json=body, headers=account.headers)
    assert response.status_code == 409
    assert "PUT /api/v1/chaos/simulator" in response.json()["detail"]
    await enable(client, account)
    cases = [
        (body | {"target_service": "nope"}, "unknown service"),
        (body | {"chaos_type": "data_drift"}, "does not apply"),
        (body | {"chaos_type": "meteor"}, "Input should be"),
        (body | {"duration": -5}, "greater than 0"),
        (body | {"duration": "soon"}, "not a duration"),
    ]
    for payload, message in cases:
        response = await client.post("/api/v1/chaos/inject", json=payload, headers=account.headers)
        assert response.status_code == 422, payload
        assert message in response.text, response.text


async def test_viewers_and_other_orgs_cannot_touch_the_fleet(
    client: httpx.AsyncClient, account: Account
) -> None:
    await enable(client, account)
    fault = (
        await client.post(
            "/api/v1/chaos/inject",
            json={"target_service": "auth", "chaos_type": "cpu_spike", "duration": 600},
            headers=account.headers,
        )
    ).json()
    other = await register(client, "mallory@other.example", "Other")
    response = await client.delete(f"/api/v1/chaos/faults/{fault['id']}", headers=other.headers)
    assert response.status_code == 404
    assert (await client.get("/api/v1/chaos/faults", headers=other.headers)).json() == []


async def test_an_experiment_is_judged_from_what_was_stored(
    client: httpx.AsyncClient, account: Account, app: FastAPI
) -> None:
    await enable(client, account)
    simulator = services_of(app).simulator
    now = time.time()
    for step in range(6):  # a minute of steady state before the experiment
        await simulator.tick_org(account.org_id, now - 60 + step * 10)
    spec = {
        "title": "gateway survives slow auth",
        "steady-state-hypothesis": {
            "title": "fast gateway",
            "probes": ["api-gateway latency_p99_ms < 300"],
        },
        "method": [{"kind": "network_latency", "target": "api-gateway", "duration_s": 30}],
        "rollbacks": [{"action": "stop_faults"}],
    }
    response = await client.post(
        "/api/v1/chaos/experiments",
        json={"experiment": spec, "observe_seconds": 60, "settle_seconds": 10},
        headers=account.headers,
    )
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["status"] == "running"
    assert run["journal"] is None
    start = run["method_start"]
    for offset in range(0, 140, 10):
        await simulator.tick_org(account.org_id, start + offset)
    done = (
        await client.get(f"/api/v1/chaos/experiments/{run['id']}", headers=account.headers)
    ).json()
    assert done["status"] == "completed"
    assert done["verdict"] == "deviated"
    phases = done["journal"]["steady_states"]
    assert phases["before"]["steady_state_met"] is True
    assert phases["during"]["steady_state_met"] is False
    assert phases["after"]["steady_state_met"] is True
    assert phases["during"]["probes"][0]["observations"] == 3

    dry = await client.post(
        "/api/v1/chaos/experiments",
        json={
            "experiment": spec
            | {"method": [{"kind": "cpu_spike", "target": "cache", "duration_s": 30}]},
            "dry_run": True,
        },
        headers=account.headers,
    )
    assert dry.status_code == 201
    assert dry.json()["id"] is None
    assert dry.json()["verdict"] == "held"
    listed = (await client.get("/api/v1/chaos/experiments", headers=account.headers)).json()
    assert [e["id"] for e in listed] == [run["id"]]


async def test_experiments_naming_unknown_things_are_refused(
    client: httpx.AsyncClient, account: Account
) -> None:
    await enable(client, account)
    spec = {
        "title": "x",
        "steady-state-hypothesis": {"title": "t", "probes": ["nowhere latency_p99_ms < 300"]},
        "method": [{"kind": "cpu_spike", "target": "auth", "duration_s": 30}],
    }
    response = await client.post(
        "/api/v1/chaos/experiments", json={"experiment": spec}, headers=account.headers
    )
    assert response.status_code == 422
    assert "nowhere" in response.text


async def incidents(client: httpx.AsyncClient, account: Account) -> list[dict[str, Any]]:
    response = await client.get("/api/v1/incidents", headers=account.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    items: list[dict[str, Any]] = body["items"]
    return items


async def test_faults_are_recorded_as_incidents_with_their_root_cause(
    client: httpx.AsyncClient, account: Account, app: FastAPI
) -> None:
    await enable(client, account)
    simulator = services_of(app).simulator
    fault = (
        await client.post(
            "/api/v1/chaos/inject",
            json={"target_service": "database", "chaos_type": "cascade", "duration": 600},
            headers=account.headers,
        )
    ).json()
    await simulator.tick_org(account.org_id, fault["start"] + 400)
    found = await incidents(client, account)
    by_service = {i["service"]: i for i in found}
    # The database itself, then its dependents along the topology, and nothing else.
    assert by_service["database"]["root_cause_service"] == "database"
    assert {"auth", "user", "checkout"} <= set(by_service)
    assert "cache" not in by_service
    assert all(i["root_cause_service"] == "database" for i in found)
    assert all(i["source"] == "simulator" for i in found)
    assert by_service["auth"]["type"] == "cascade"

    # Ticking again records nothing twice.
    await simulator.tick_org(account.org_id, fault["start"] + 401)
    assert len(await incidents(client, account)) == len(found)

    # Stopping the fault early moves the recorded end to the moment it stopped.
    await client.delete(f"/api/v1/chaos/faults/{fault['id']}", headers=account.headers)
    await simulator.tick_org(account.org_id, fault["start"] + 500)
    again = {i["service"]: i for i in await incidents(client, account)}
    assert len(again) == len(found)
    planned_end = by_service["database"]["end"]
    assert again["database"]["end"] < planned_end


async def test_the_fleet_starts_with_days_of_history_once(
    client: httpx.AsyncClient, account: Account, app: FastAPI
) -> None:
    bad = await client.put(
        "/api/v1/chaos/simulator",
        json={"enabled": True, "history_days": 31},
        headers=account.headers,
    )
    assert bad.status_code == 422
    assert "history_days" in bad.text

    response = await client.put(
        "/api/v1/chaos/simulator",
        json={"enabled": True, "history_days": 0.5},
        headers=account.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["history_days_queued"] == 0.5
    await services_of(app).runner.drain()
    series = sum(len(s["metrics"]) for s in response.json()["services"])
    stats = (await client.get("/api/v1/stats", headers=account.headers)).json()
    # Half a day on the history's five-minute grid, for every metric of the fleet.
    assert stats["samples"] == series * 12 * 12
    now = time.time()
    for metric in ("latency_p99_ms", "cpu_pct"):
        read = await client.get(
            "/api/v1/metrics",
            params={"service": "api-gateway", "metric": metric, "start": now - 86400, "end": now},
            headers=account.headers,
        )
        points = read.json()["series"][0]["points"]
        assert now - 13 * 3600 < points[0][0] and points[-1][0] <= now

    # History goes only into an empty org: a second request would overlap the first.
    again = await client.put(
        "/api/v1/chaos/simulator",
        json={"enabled": True, "history_days": 1},
        headers=account.headers,
    )
    assert again.status_code == 409
    assert "history_days" in again.json()["detail"]
