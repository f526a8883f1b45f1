from __future__ import annotations

import pytest
from pydantic import ValidationError

from failcast.notify.routing import RouteSpec, RoutingPolicy, match_routes, route_at

TREE = RoutingPolicy.model_validate(
    {
        "route": {
            "receivers": ["default"],
            "group_by": ["alertname"],
            "group_wait": "10s",
            "routes": [
                {
                    "matchers": ['severity="critical"'],
                    "receivers": ["pager"],
                    "continue": True,
                    "repeat_interval": "1h",
                },
                {
                    "matchers": ['team="db"'],
                    "receivers": ["db-team"],
                    "group_by": ["service"],
                    "routes": [{"matchers": ['service=~"pg-.*"'], "group_wait": "1m"}],
                },
                {"matchers": ['team=~"db|web"'], "receivers": ["never-reached-for-db"]},
            ],
        }
    }
).route


def paths(labels: dict[str, str]) -> list[tuple[str, tuple[str, ...]]]:
    return [(r.path, r.receivers) for r in match_routes(TREE, labels)]


def test_unmatched_alert_stays_at_the_root() -> None:
    assert paths({"alertname": "x", "severity": "info"}) == [("0", ("default",))]


def test_continue_lets_later_siblings_match() -> None:
    assert paths({"severity": "critical", "team": "db", "service": "api"}) == [
        ("0.0", ("pager",)),
        ("0.1", ("db-team",)),
    ]


def test_first_match_without_continue_stops_and_deepest_route_wins() -> None:
    [route] = match_routes(TREE, {"team": "db", "service": "pg-main"})
    assert route.path == "0.1.0"
    # Inherited from its parent, except the group_wait it sets.
    assert route.receivers == ("db-team",)
    assert route.group_by == ("service",)
    assert route.group_wait_ms == 60_000
    assert route.group_interval_ms == 300_000  # Alertmanager's default
    assert route.repeat_interval_ms == 4 * 3_600_000


def test_children_inherit_timers_and_groups() -> None:
    # A matching child, even one that continues, replaces its parent as the match.
    [pager] = match_routes(TREE, {"severity": "critical", "alertname": "A"})
    [root_match] = match_routes(TREE, {"alertname": "A"})
    assert pager.repeat_interval_ms == 3_600_000 and pager.group_wait_ms == 10_000
    assert pager.group_labels({"alertname": "A", "x": "1"}) == {"alertname": "A"}
    assert root_match.path == "0"
    assert pager.group_key({"alertname": "A"}) != root_match.group_key({"alertname": "A"})
    assert pager.group_key({"alertname": "A", "x": "1"}) == pager.group_key({"alertname": "A"})


def test_route_at_finds_settings_by_path() -> None:
    route = route_at(TREE, "0.1.0")
    assert route is not None and route.group_wait_ms == 60_000
    assert route_at(TREE, "0.7") is None


def test_root_may_not_have_matchers() -> None:
    with pytest.raises(ValidationError):
        RoutingPolicy(route=RouteSpec(matchers=['a="b"']))
