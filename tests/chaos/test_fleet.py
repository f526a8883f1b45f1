from __future__ import annotations

import pytest

from failcast.chaos import FleetSpec, Kind, ServiceSpec, Topology, build_fleet
from failcast.chaos.fleet import Dependency

REFERENCE = {
    "api-gateway", "auth", "user", "checkout", "database", "cache",
    "fraud-model", "recommender", "orders-etl", "features-pipeline",
}  # fmt: skip


def test_reference_fleet_has_the_described_services_and_edges() -> None:
    fleet = build_fleet()
    topology = fleet.topology
    assert set(fleet.names) == REFERENCE
    assert set(topology.dependencies["api-gateway"]) == {"auth", "user", "checkout"}
    for backend in ("auth", "user", "checkout"):
        assert {"database", "cache"} <= set(topology.dependencies[backend])
    assert topology.kinds["fraud-model"] is Kind.ml_model
    assert topology.kinds["orders-etl"] is Kind.data_pipeline


def test_services_are_ordered_with_dependencies_first() -> None:
    fleet = build_fleet(20)
    seen: set[str] = set()
    for spec in fleet:
        assert {d.name for d in spec.dependencies} <= seen, spec.name
        seen.add(spec.name)


def test_upstream_lists_every_dependent_with_hops() -> None:
    upstream = build_fleet().topology.upstream("database")
    assert upstream == {"auth": 1, "user": 1, "checkout": 1, "orders-etl": 1, "api-gateway": 2}


@pytest.mark.parametrize("size", [1, 4, 10, 12, 30])
def test_fleet_scales_to_the_requested_size(size: int) -> None:
    fleet = build_fleet(size)
    assert len(fleet) == size
    assert len(set(fleet.names)) == size


def test_grown_fleet_routes_gateway_traffic_to_new_services() -> None:
    fleet = build_fleet(12)
    assert set(fleet.names) == REFERENCE | {"payments", "search-index"}
    assert "payments" in fleet.topology.dependencies["api-gateway"]
    assert "disk_pct" in fleet["search-index"].metrics


def test_metrics_per_kind() -> None:
    fleet = build_fleet()
    assert "disk_pct" in fleet["database"].metrics
    assert "disk_pct" not in fleet["auth"].metrics
    assert fleet["recommender"].metrics[0] == "accuracy"
    assert "freshness_lag_min" in fleet["orders-etl"].metrics


def test_topology_round_trips_through_a_dict() -> None:
    topology = build_fleet(12).topology
    again = Topology.from_dict(topology.to_dict())
    assert dict(again.dependencies) == dict(topology.dependencies)
    assert dict(again.kinds) == dict(topology.kinds)


def test_cycles_and_unknown_dependencies_are_refused() -> None:
    a = ServiceSpec("a", Kind.microservice, dependencies=(Dependency("b"),))
    b = ServiceSpec("b", Kind.microservice, dependencies=(Dependency("a"),))
    with pytest.raises(ValueError, match="cycle"):
        FleetSpec((a, b))
    with pytest.raises(ValueError, match="unknown"):
        FleetSpec((a,))
    with pytest.raises(ValueError):
        build_fleet(0)
