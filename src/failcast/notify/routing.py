"""The routing tree, as Alertmanager defines it.

Every alert enters at the root, which matches everything. Children are tried in order; an
alert descends into the first child whose matchers all match and, unless that child sets
`continue: true`, stops looking at its siblings. The deepest matching routes are the
result; a node none of whose children match is itself the match. Children inherit every
setting they leave out (receivers, group_by, the three timers, send_resolved).

    route:
      receivers: [ops-slack]
      group_by: [alertname, service]
      group_wait: 30s        # wait before the first notification of a new group
      group_interval: 5m     # wait before notifying about changes to a group
      repeat_interval: 4h    # wait before re-sending an unchanged, still-firing group
      routes:
        - matchers: ['severity="critical"']
          receivers: [pagerduty]
          continue: true
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from failcast.kit.durations import Duration, duration_ms
from failcast.kit.matchers import Matcher, matches_all, parse_matcher

ALL_LABELS = "..."


class RouteSpec(BaseModel):
    """One node of the routing tree; unset fields are inherited from the parent."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    receivers: list[str] | None = Field(default=None, description="channel names")
    matchers: list[str] = Field(default_factory=list)
    continue_: bool = Field(default=False, alias="continue")
    group_by: list[str] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    send_resolved: bool | None = None
    routes: list[RouteSpec] = Field(default_factory=list)

    @field_validator("matchers", mode="before")
    @classmethod
    def _matchers(cls, value: Any) -> Any:
        if not isinstance(value, list):
            return value
        return [str(parse_matcher(item)) for item in value]

    @field_validator("receivers", mode="before")
    @classmethod
    def _one_receiver(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def parsed_matchers(self) -> list[Matcher]:
        return [parse_matcher(text) for text in self.matchers]

    def receiver_names(self) -> set[str]:
        names = set(self.receivers or [])
        for child in self.routes:
            names |= child.receiver_names()
        return names


class RoutingPolicy(BaseModel):
    """The document stored per org: `{"route": {...}}`."""

    model_config = ConfigDict(extra="forbid")

    route: RouteSpec

    @field_validator("route")
    @classmethod
    def _root_matches_everything(cls, route: RouteSpec) -> RouteSpec:
        if route.matchers:
            raise ValueError("the root route matches every alert; it may not have matchers")
        return route


@dataclass(frozen=True, slots=True)
class Route:
    """A matched route with every setting resolved."""

    path: str
    receivers: tuple[str, ...]
    group_by: tuple[str, ...]
    group_wait_ms: int
    group_interval_ms: int
    repeat_interval_ms: int
    send_resolved: bool

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        if ALL_LABELS in self.group_by:
            return dict(labels)
        return {name: labels[name] for name in self.group_by if name in labels}

    def group_key(self, labels: Mapping[str, str]) -> str:
        payload = json.dumps(
            [self.path, sorted(self.group_labels(labels).items())], separators=(",", ":")
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _resolve(node: RouteSpec, parent: Route, path: str) -> Route:
    def timer(value: str | None, inherited: int) -> int:
        return duration_ms(value) if value is not None else inherited

    return Route(
        path=path,
        receivers=tuple(node.receivers) if node.receivers is not None else parent.receivers,
        group_by=tuple(node.group_by) if node.group_by is not None else parent.group_by,
        group_wait_ms=timer(node.group_wait, parent.group_wait_ms),
        group_interval_ms=timer(node.group_interval, parent.group_interval_ms),
        repeat_interval_ms=timer(node.repeat_interval, parent.repeat_interval_ms),
        send_resolved=parent.send_resolved if node.send_resolved is None else node.send_resolved,
    )


# Alertmanager's defaults, inherited by a root route that leaves a setting out.
DEFAULT_ROUTE = Route(
    path="",
    receivers=(),
    group_by=("alertname",),
    group_wait_ms=30_000,
    group_interval_ms=300_000,
    repeat_interval_ms=4 * 3_600_000,
    send_resolved=True,
)


def match_routes(root: RouteSpec, labels: Mapping[str, str]) -> list[Route]:
    """The routes an alert with `labels` goes to, in tree order."""

    def visit(node: RouteSpec, parent: Route, path: str) -> list[Route]:
        here = _resolve(node, parent, path)
        found: list[Route] = []
        for index, child in enumerate(node.routes):
            if matches_all(child.parsed_matchers(), labels):
                found.extend(visit(child, here, f"{path}.{index}"))
                if not child.continue_:
                    break
        return found or [here]

    return visit(root, DEFAULT_ROUTE, "0")


def route_at(root: RouteSpec, path: str) -> Route | None:
    """The resolved route at a path such as `0.1.0`, or None if the tree no longer has it."""
    parts = path.split(".")
    if parts[0] != "0":
        return None
    node, route = root, _resolve(root, DEFAULT_ROUTE, "0")
    for part in parts[1:]:
        index = int(part)
        if index >= len(node.routes):
            return None
        node = node.routes[index]
        route = _resolve(node, route, f"{route.path}.{index}")
    return route


def team_route(root: RouteSpec, team: str, channels: Sequence[str]) -> Route:
    """The route of a team's own channels: the root's grouping and timers, the team's
    receivers. Every alert about a service the team owns takes it, besides the policy's."""
    base = _resolve(root, DEFAULT_ROUTE, "0")
    return replace(base, path=f"team.{team}", receivers=tuple(channels))


def default_policy(channel_names: list[str]) -> RoutingPolicy:
    """Without a policy, every alert goes to every enabled channel, grouped by rule and service."""
    return RoutingPolicy(
        route=RouteSpec(receivers=sorted(channel_names), group_by=["alertname", "service"])
    )
