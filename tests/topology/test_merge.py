"""One graph from the declared topology, the simulated fleet's and the calls seen in labels."""

from __future__ import annotations

import time

import httpx
from factories import Account, bearer

from failcast.topology import TopologySpec
from failcast.topology.merge import merge


def spec(edges: dict[str, list[str]], **attrs: dict[str, object]) -> TopologySpec:
    names = sorted(set(edges) | {t for targets in edges.values() for t in targets})
    return TopologySpec.model_validate(
        {
            "services": [
                {"name": n, "depends_on": edges.get(n, []), **attrs.get(n, {})} for n in names
            ]
        }
    )


def edges(merged: TopologySpec) -> dict[tuple[str, str], str | None]:
    return {(s.name, d.target): d.origin for s in merged.services for d in s.depends_on}


def test_edges_keep_their_origin_and_the_more_trusted_source_wins() -> None:
    declared = spec({"web": ["api"]}, api={"tier": 1})
    simulated = spec({"api": ["db"], "web": ["api"]}, api={"tier": 3})
    merged = merge([("declared", declared), ("simulated", simulated)])
    assert edges(merged) == {("web", "api"): "declared", ("api", "db"): "simulated"}
    assert next(s for s in merged.services if s.name == "api").tier == 1


def test_an_edge_that_would_close_a_cycle_is_left_out() -> None:
    declared = spec({"a": ["b"]})
    labels = spec({"b": ["a"], "b2": ["a"]})
    merged = merge([("declared", declared), ("labels", labels)])
    assert edges(merged) == {("a", "b"): "declared", ("b2", "a"): "labels"}


def test_catalogue_services_without_edges_are_nodes() -> None:
    merged = merge([("declared", spec({"a": ["b"]}))], [("batch", "data_pipeline"), ("a", "x")])
    kinds = {s.name: s.kind for s in merged.services}
    assert kinds == {"a": "microservice", "b": "microservice", "batch": "data_pipeline"}


async def test_calls_seen_in_metric_labels_join_the_graph(
    client: httpx.AsyncClient, account: Account, api_key: str
) -> None:
    now = time.time()
    samples = [
        {"service": "checkout", "metric": "rpc_latency_seconds", "ts": now,
         "labels": {"peer_service": "payments"}, "value": 0.1},
        {"service": "checkout", "metric": "rpc_latency_seconds", "ts": now,
         "labels": {"peer_service": "stripe-api"}, "value": 0.3},  # not a service of the org
        {"service": "payments", "metric": "cpu_pct", "ts": now, "value": 20.0},
    ]  # fmt: skip
    response = await client.post(
        "/api/v1/metrics", json={"samples": samples}, headers=bearer(api_key)
    )
    assert response.status_code == 200, response.text
    graph = (await client.get("/api/v1/topology/graph", headers=account.headers)).json()
    assert graph["source"] == "labels"
    found = {(e["source"], e["target"]): e["origin"] for e in graph["edges"]}
    assert found == {("checkout", "payments"): "labels"}
