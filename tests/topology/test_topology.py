from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from failcast.topology import (
    DependencyGraph,
    TopologySpec,
    YamlConfigError,
    blast_radii,
    blast_radius,
    critical_path,
    edge_weight,
    load_topology_yaml,
    propagate,
)

SHOP = """\
version: 1
services:
  - name: web
    entry_point: true
    traffic: 300
    depends_on: [api]
  - name: mobile
    entry_point: true
    traffic: 100
    depends_on: [search]
  - name: api
    tier: 1
    depends_on:
      - target: db
      - target: cache
        criticality: soft
  - name: search
    depends_on:
      - target: cache
        criticality: optional
  - name: db
  - name: cache
"""


@pytest.fixture
def shop() -> DependencyGraph:
    return DependencyGraph(load_topology_yaml(SHOP))


def test_topological_order_puts_dependencies_first(shop: DependencyGraph) -> None:
    order = shop.topological_order()
    assert order.index("db") < order.index("api") < order.index("web")
    assert order.index("cache") < order.index("search") < order.index("mobile")


def test_edge_weight_rises_with_saturation_past_the_knee() -> None:
    assert edge_weight(0.3, 0.5) == pytest.approx(0.3)  # below the knee
    assert edge_weight(0.3, 0.85) == pytest.approx(0.3 + 0.7 * 0.5)
    assert edge_weight(0.3, 1.0) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="probability"):
        edge_weight(0.3, 1.5)


def test_cascade_matches_hand_computation(shop: DependencyGraph) -> None:
    own = {"db": 0.1, "cache": 0.2, "api": 0.05}
    result = propagate(shop, own, {"cache": 0.85})
    # cache saturated at 0.85: w(api->cache) = 0.3 + 0.7 * (0.85 - 0.7) / 0.3 = 0.65
    # P(api) = 1 - 0.95 * (1 - 1.0 * 0.1) * (1 - 0.65 * 0.2) = 1 - 0.95 * 0.9 * 0.87
    assert result["api"].probability == pytest.approx(0.25615)
    assert result["api"].inherited == pytest.approx(0.25615 - 0.05)
    assert result["web"].probability == pytest.approx(0.25615)
    # w(search->cache) = 0.05 + 0.95 * 0.5 = 0.525, P(search) = 0.525 * 0.2
    assert result["search"].probability == pytest.approx(0.105)
    # The largest contribution into api is the saturated cache (0.13 > db's 0.10).
    assert [c.dependency for c in result["api"].contributors] == ["cache", "db"]
    assert result["web"].root_path == ("web", "api", "cache")


def test_cascade_without_saturation_uses_criticality_weights(shop: DependencyGraph) -> None:
    result = propagate(shop, {"db": 0.1, "cache": 0.2, "api": 0.05})
    assert result["api"].probability == pytest.approx(1 - 0.95 * 0.9 * (1 - 0.3 * 0.2))
    assert result["db"].probability == pytest.approx(0.1)


def test_cascade_rejects_unknown_services_and_bad_probabilities(shop: DependencyGraph) -> None:
    with pytest.raises(ValueError, match="unknown service 'nope'"):
        propagate(shop, {"nope": 0.1})
    with pytest.raises(ValueError, match="not a probability"):
        propagate(shop, {"db": 1.2})


def test_shared_dependency_counts_each_path_independently() -> None:
    spec = TopologySpec.model_validate(
        {
            "services": [
                {"name": "a", "depends_on": ["b", "c"]},
                {"name": "b", "depends_on": ["d"]},
                {"name": "c", "depends_on": ["d"]},
                {"name": "d"},
            ]
        }
    )
    result = propagate(DependencyGraph(spec), {"d": 0.5})
    # The independence assumption gives 1 - 0.5 * 0.5 (documented as an upper bound).
    assert result["a"].probability == pytest.approx(0.75)


def test_critical_path_follows_the_slowest_chain(shop: DependencyGraph) -> None:
    latency = {"web": 15.0, "api": 40.0, "db": 25.0, "cache": 30.0, "mobile": 5.0, "search": 90.0}
    path = critical_path(shop, latency)
    # web: 15 + api(40 + max(db 25, cache 30)) = 85; mobile: 5 + search(90 + cache 30) = 125
    assert path.entry == "mobile"
    assert path.path == ("mobile", "search", "cache")
    assert path.latency_ms == pytest.approx(125.0)
    assert path.share("search") == pytest.approx(90 / 125)
    from_web = critical_path(shop, latency, entry="web")
    assert from_web.path == ("web", "api", "cache")
    assert from_web.latency_ms == pytest.approx(85.0)


def test_critical_path_rejects_negative_latency(shop: DependencyGraph) -> None:
    with pytest.raises(ValueError, match="latency"):
        critical_path(shop, {"db": -1.0})


def test_blast_radius_of_shared_cache(shop: DependencyGraph) -> None:
    radius = blast_radius(shop, "cache")
    assert radius.affected == ("api", "mobile", "search", "web")
    assert radius.count == 4
    # P(fail | cache down): api 0.3, web 0.3, search 0.05, mobile 0.05
    assert radius.weighted_count == pytest.approx(0.7)
    assert radius.traffic_share == pytest.approx(1.0)
    assert radius.expected_traffic_loss == pytest.approx((300 * 0.3 + 100 * 0.05) / 400)


def test_blast_radius_of_db_reaches_only_web_traffic(shop: DependencyGraph) -> None:
    radius = blast_radius(shop, "db")
    assert radius.affected == ("api", "web")
    assert radius.weighted_count == pytest.approx(2.0)
    assert radius.traffic_share == pytest.approx(0.75)
    assert radius.expected_traffic_loss == pytest.approx(0.75)
    everything = blast_radii(shop)
    assert set(everything) == {"web", "mobile", "api", "search", "db", "cache"}
    assert everything["web"].affected == ()


def test_export_is_json_for_a_graph_view(shop: DependencyGraph) -> None:
    exported = json.loads(shop.export({"api": 0.25}).model_dump_json())
    assert [n["id"] for n in exported["nodes"]] == ["web", "mobile", "api", "search", "db", "cache"]
    api = next(n for n in exported["nodes"] if n["id"] == "api")
    assert api["failure_probability"] == 0.25 and api["tier"] == 1
    assert {
        "source": "api",
        "target": "cache",
        "criticality": "soft",
        "weight": 0.3,
        "origin": None,
    } in exported["edges"]


def test_entry_points_default_to_services_nobody_calls() -> None:
    spec = TopologySpec.model_validate(
        {"services": [{"name": "a", "depends_on": ["b"]}, {"name": "b"}]}
    )
    assert DependencyGraph(spec).entry_points() == ["a"]


def _error(text: str) -> YamlConfigError:
    with pytest.raises(YamlConfigError) as caught:
        load_topology_yaml(text)
    return caught.value


def test_cycle_is_reported_at_the_closing_edge() -> None:
    text = SHOP.replace("  - name: cache\n", "  - name: cache\n    depends_on: [web]\n")
    error = _error(text)
    assert [p.line for p in error.problems] == [23]
    assert error.problems[0].field == "services.5.depends_on.0.target"
    assert "dependency cycle: web -> api -> cache -> web" in str(error)


def test_yaml_errors_name_line_and_key() -> None:
    error = _error(SHOP.replace("traffic: 100", "traffic: lots"))
    assert str(error) == (
        "topology.yaml: line 9: services.1.traffic: Input should be a valid number,"
        " unable to parse string as a number"
    )
    error = _error(SHOP.replace("criticality: soft", "criticality: vital"))
    assert error.problems[0].line == 16
    assert error.problems[0].field == "services.2.depends_on.1.criticality"
    unknown = _error(SHOP.replace("      - target: db", "      - target: dbx"))
    assert unknown.problems[0].line == 14
    assert "api depends on dbx, which is not declared" in unknown.problems[0].msg


def test_missing_key_points_at_the_item_and_extra_key_at_itself() -> None:
    error = _error(SHOP.replace("  - name: db\n", "  - tier: 3\n    colour: red\n"))
    by_field = {p.field: p.line for p in error.problems}
    assert by_field == {"services.4.name": 21, "services.4.colour": 22}


def test_duplicate_keys_and_syntax_errors_are_located() -> None:
    duplicate = _error(SHOP.replace("    tier: 1\n", "    tier: 1\n    tier: 3\n"))
    assert (duplicate.problems[0].line, duplicate.problems[0].msg) == (13, "duplicate key")
    broken = _error("services:\n  - name: [a\n")
    assert broken.problems[0].line == 3
    assert broken.problems[0].msg.startswith("not valid YAML")


def test_api_bodies_get_the_same_checks() -> None:
    with pytest.raises(ValidationError, match="declared twice"):
        TopologySpec.model_validate({"services": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValidationError, match="cannot depend on itself"):
        TopologySpec.model_validate({"services": [{"name": "a", "depends_on": ["a"]}]})


def test_blast_radius_agrees_with_the_cascade_model(shop: DependencyGraph) -> None:
    saturation = {"cache": 0.9, "db": 0.75}
    radii = blast_radii(shop, saturation)
    for name, radius in radii.items():
        conditional = propagate(shop, {name: 1.0}, saturation)
        expected = sum(conditional[d].probability for d in radius.affected)
        assert radius.weighted_count == pytest.approx(expected)
    with pytest.raises(ValueError, match="saturation"):
        blast_radius(shop, "db", {"cache": 2.0})
