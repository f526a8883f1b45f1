"""Aggregation groups and Alertmanager's timers, as pure rules.

Each active, unsuppressed alert is routed; each matched route puts it in the aggregation group
given by the route and the values of its `group_by` labels, once per receiver (`group_alerts`).
When a group is looked at, `group_status` says what it is and `should_send` whether it
notifies now:

- a new group waits `group_wait` from its first alert before its first notification;
- afterwards it is looked at every `group_interval`, and notifies when its content changed
  (an alert joined or resolved, or every alert is now acknowledged);
- an unchanged group that is still firing is re-sent once `repeat_interval` has passed
  since its last notification. Acknowledged groups are not repeated.

Alertmanager channels differ: Alertmanager forgets an alert nobody repeats, so their groups
are looked at and re-sent (firing or acknowledged) every `resend` of the channel, and their
resolves are always sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.models import Alert, NotificationPolicy
from failcast.notify.payloads import Status
from failcast.notify.routing import Route, RoutingPolicy, default_policy, match_routes, team_route
from failcast.teams.service import Ownership

GroupId = tuple[int, str, str]  # (channel id, route path, group key)


@dataclass
class Group:
    route: Route
    labels: dict[str, str]
    alerts: list[Alert] = field(default_factory=list)


def digest(status: str, members: Sequence[int], resolved: Sequence[int]) -> str:
    """What a group said: its status and its alerts; a new digest is a change to tell."""
    payload = json.dumps([status, sorted(members), sorted(resolved)])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def dedup_key(org_id: int, path: str, group_key: str) -> str:
    """The key PagerDuty and receivers use to thread a group's notifications together."""
    digest = hashlib.sha256(f"{org_id}:{path}:{group_key}".encode()).hexdigest()[:24]
    return f"failcast-{org_id}-{digest}"


async def load_policy(
    session: AsyncSession, org_id: int, channel_names: list[str]
) -> RoutingPolicy:
    route = await session.scalar(
        select(NotificationPolicy.route).where(NotificationPolicy.org_id == org_id)
    )
    if route is None:
        return default_policy(channel_names)
    return RoutingPolicy.model_validate({"route": route})


def group_alerts(
    alerts: Sequence[Alert],
    policy: RoutingPolicy,
    owners: Ownership,
    channel_ids: Mapping[str, int],
) -> dict[GroupId, Group]:
    """The groups the alerts fall in, per receiving channel (by name in `channel_ids`); an
    alert of a team's service also goes to the team's channels, and carries a `team` label
    that policies can route on."""
    groups: dict[GroupId, Group] = {}
    for alert in alerts:
        labels = dict(alert.labels)
        team = owners.team_of.get(alert.service or "")
        if team is not None:
            labels.setdefault("team", team)
        routes = match_routes(policy.route, labels)
        if team is not None and owners.channels_of[team]:
            routes.append(team_route(policy.route, team, owners.channels_of[team]))
        for route in routes:
            key = route.group_key(labels)
            for receiver in route.receivers:
                channel_id = channel_ids.get(receiver)
                if channel_id is None:
                    continue
                group = groups.setdefault(
                    (channel_id, route.path, key), Group(route, route.group_labels(labels))
                )
                group.alerts.append(alert)
    return groups


def group_status(members: Sequence[Alert]) -> Status:
    """Firing while any member fires; acknowledged while all are; resolved when none is left."""
    if any(a.state == "firing" for a in members):
        return "firing"
    return "acknowledged" if members else "resolved"


def should_send(
    *,
    status: Status,
    changed: bool,
    last_notified_at: datetime | None,
    now: datetime,
    route: Route,
    resend: timedelta | None,
) -> bool:
    """Whether a group looked at `now` notifies (see the module's rules)."""
    if last_notified_at is None:
        return status == "firing"
    if changed:
        return status != "resolved" or route.send_resolved or resend is not None
    if resend is not None:
        return status != "resolved" and now - last_notified_at >= resend
    repeat = timedelta(milliseconds=route.repeat_interval_ms)
    return status == "firing" and now - last_notified_at >= repeat
