"""The dependency features of predictions read the org's merged topology graph, so the count
an explanation gives is the count the topology page shows."""

from __future__ import annotations

import time

import httpx
from factories import Account, bearer
from fastapi import FastAPI

from failcast.deps import services_of
from failcast.explain.factors import describe_feature
from failcast.predict import repository
from failcast.predict.dataset import fleet_features

HOUR_MS = 3_600_000


async def graph_dependencies(app: FastAPI, account: Account, service: str) -> set[str]:
    async with services_of(app).db.session() as session:
        graph = await services_of(app).topology(session, account.org_id)
    return {d.target for d in graph.dependencies(service)}


async def test_dependencies_found_in_metric_labels_are_counted(
    app: FastAPI, client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    now = time.time() - 60
    samples = [
        # checkout's calls name their callee: no topology was declared.
        {"service": "checkout", "metric": "calls", "labels": {"peer_service": peer},
         "ts": now, "value": 5.0}
        for peer in ("payments", "inventory")
    ] + [
        {"service": name, "metric": "error_rate", "ts": now, "value": 0.01}
        for name in ("payments", "inventory")
    ]  # fmt: skip
    response = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text
    assert await graph_dependencies(app, account, "checkout") == {"payments", "inventory"}

    end = int(now * 1000) + 60_000
    async with services_of(app).db.session() as session:
        fleet = await repository.load_fleet(
            session, account.org_id, end - HOUR_MS, end, services_of(app).topology
        )
    assert set(fleet.services["checkout"].dependencies) == {"payments", "inventory"}
    _, columns = fleet_features(fleet)
    count = float(columns["checkout"]["deps_count"][-1])
    assert count == 2
    assert describe_feature("deps_count", count) == "2 dependencies"
    assert describe_feature("deps_count", 1.0) == "1 dependency"
    assert describe_feature("deps_count", 0.0) == "no dependencies"
    assert columns["payments"]["deps_count"][-1] == 0


async def test_the_simulated_fleets_dependencies_are_counted_while_it_runs(
    app: FastAPI, client: httpx.AsyncClient, account: Account
) -> None:
    await services_of(app).runner.stop()  # the test ticks the simulator itself
    response = await client.put(
        "/api/v1/chaos/simulator", json={"enabled": True}, headers=account.headers
    )
    assert response.status_code == 200, response.text
    now = float(int(time.time()))
    await services_of(app).simulator.tick_org(account.org_id, now)
    async with services_of(app).db.session() as session:
        graph = await services_of(app).topology(session, account.org_id)
    callers = {name: {d.target for d in graph.dependencies(name)} for name in graph.services}
    callers = {name: deps for name, deps in callers.items() if deps}
    assert callers, "the simulated fleet has dependencies"

    end = int(now * 1000) + 60_000
    jobs = services_of(app).prediction_jobs
    assert jobs.topology is services_of(app).topology  # what scoring and training read
    async with services_of(app).db.session() as session:
        fleet = await repository.load_fleet(
            session, account.org_id, end - HOUR_MS, end, jobs.topology
        )
    found = {n: set(s.dependencies) for n, s in fleet.services.items() if s.dependencies}
    assert found == callers
    _, columns = fleet_features(fleet)
    for name, deps in callers.items():
        assert columns[name]["deps_count"][-1] == len(deps)
