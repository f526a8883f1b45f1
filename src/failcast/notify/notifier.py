"""Grouping and notification, with Alertmanager's timers.

Each active, unsuppressed alert is routed; each matched route puts it in the aggregation
group given by the route and the values of its `group_by` labels, once per receiver. A
group is looked at when its `next_flush_at` comes:

- a new group waits `group_wait` from its first alert before its first notification;
- afterwards it is looked at every `group_interval`, and notifies when its content changed
  (an alert joined or resolved, or every alert is now acknowledged);
- an unchanged group that is still firing is re-sent once `repeat_interval` has passed
  since its last notification. Acknowledged groups are not repeated.

Alertmanager channels differ: Alertmanager forgets an alert nobody repeats, so their groups
are looked at and re-sent (firing or acknowledged) every `resend_seconds` of the channel,
and their resolves are always sent.

Alerting decides which alerts are suppressed (silences, maintenance, inhibition) and records
it on each alert; the notifier routes the others, and writes what it sent to the alerts'
timelines through the `timeline` it is given.

`flush(now)` takes the time as a parameter, so tests walk through the timers without sleeping.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.engine import Database
from failcast.egress import EgressPolicy, OutboundClient
from failcast.models import Alert, NotificationChannel, NotificationGroup, NotificationPolicy
from failcast.models.alert import ACTIVE_STATES
from failcast.notify import channels as channel_types
from failcast.notify.delivery import DeliveryOutcome, RetryPolicy, Sleep, deliver
from failcast.notify.payloads import AlertItem, Notification, Status
from failcast.notify.routing import (
    DEFAULT_ROUTE,
    Route,
    RoutingPolicy,
    default_policy,
    match_routes,
    route_at,
    team_route,
)
from failcast.teams import service as teams

GroupId = tuple[int, str, str]  # (channel id, route path, group key)


class Timeline(Protocol):
    """Records an event on an alert's timeline (alerting's `record_event`)."""

    def __call__(
        self,
        session: AsyncSession,
        alert: Alert,
        kind: str,
        at: datetime,
        *,
        message: str = ...,
        data: dict[str, Any] | None = ...,
    ) -> object: ...


@dataclass
class FlushReport:
    """What one flush sent and how it went."""

    sent: list[Notification] = field(default_factory=list)
    failed: list[Notification] = field(default_factory=list)
    suppressed: dict[int, str] = field(default_factory=dict)


@dataclass
class _Group:
    route: Route
    labels: dict[str, str]
    alerts: list[Alert] = field(default_factory=list)


def _digest(status: str, members: Sequence[int], resolved: Sequence[int]) -> str:
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


class Notifier:
    """Turns alert states into notifications on the org's channels."""

    def __init__(
        self,
        database: Database,
        *,
        external_url: str = "",
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        timeout_seconds: float = 10.0,
        egress: EgressPolicy | None = None,
        timeline: Timeline | None = None,
    ) -> None:
        self.database = database
        # Which addresses channels may reach; none internal unless the operator allows them.
        self.egress = egress or EgressPolicy()
        self.timeline = timeline
        self.external_url = external_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.timeout_seconds = timeout_seconds

    def _item(self, alert: Alert) -> AlertItem:
        return AlertItem(
            id=alert.id,
            fingerprint=alert.fingerprint,
            status=alert.state,  # type: ignore[arg-type]
            title=alert.title,
            severity=alert.severity,
            service=alert.service,
            labels=dict(alert.labels),
            value=alert.value,
            started_at=alert.fired_at or alert.started_at,
            resolved_at=alert.resolved_at,
            url=f"{self.external_url}/api/v1/alerts/{alert.id}",
            context=dict(alert.context),
        )

    async def flush(self, now: datetime, *, org_id: int | None = None) -> FlushReport:
        """Flush every org that has channels (or only `org_id`) at `now`."""
        report = FlushReport()
        if org_id is None:
            async with self.database.session() as session:
                orgs = sorted(
                    await session.scalars(
                        select(NotificationChannel.org_id)
                        .where(NotificationChannel.enabled.is_(True))
                        .distinct()
                    )
                )
        else:
            orgs = [org_id]
        async with OutboundClient(self.egress, timeout=self.timeout_seconds) as http:
            for org in orgs:
                async with self.database.session() as session:
                    one = await self.flush_org(session, org, now, http)
                report.sent += one.sent
                report.failed += one.failed
                report.suppressed |= one.suppressed
        return report

    async def flush_org(
        self, session: AsyncSession, org_id: int, now: datetime, http: OutboundClient
    ) -> FlushReport:
        report = FlushReport()
        rows = list(
            await session.scalars(
                select(NotificationChannel).where(
                    NotificationChannel.org_id == org_id, NotificationChannel.enabled.is_(True)
                )
            )
        )
        by_name = {row.name: row for row in rows}
        owners = await teams.ownership(session, org_id)
        # Without a policy, every channel that no team claims gets every alert.
        policy = await load_policy(session, org_id, [n for n in by_name if n not in owners.claimed])
        alerts = list(
            await session.scalars(
                select(Alert)
                .where(Alert.org_id == org_id, Alert.state.in_(ACTIVE_STATES))
                .order_by(Alert.id)
            )
        )
        # Alerting decided which alerts are quiet, and why, when it last evaluated them.
        report.suppressed = {a.id: a.suppressed_by for a in alerts if a.suppressed_by}
        current: dict[GroupId, _Group] = {}
        for alert in alerts:
            if alert.id in report.suppressed:
                continue
            labels = dict(alert.labels)
            team = owners.team_of.get(alert.service or "")
            if team is not None:
                labels.setdefault("team", team)  # so that policies can route on it
            routes = match_routes(policy.route, labels)
            if team is not None and owners.channels_of[team]:
                routes.append(team_route(policy.route, team, owners.channels_of[team]))
            for route in routes:
                key = route.group_key(labels)
                for receiver in route.receivers:
                    row = by_name.get(receiver)
                    if row is None:
                        continue
                    group = current.setdefault(
                        (row.id, route.path, key), _Group(route, route.group_labels(labels))
                    )
                    group.alerts.append(alert)
        stored = {
            (g.channel_id, g.route_path, g.group_key): g
            for g in await session.scalars(
                select(NotificationGroup).where(NotificationGroup.org_id == org_id)
            )
        }
        channels_by_id = {row.id: row for row in rows}
        for gid in sorted(set(stored) | set(current)):
            channel_row = channels_by_id.get(gid[0])
            if channel_row is None:
                # A disabled channel's groups are dropped; re-enabling starts afresh.
                await session.delete(stored[gid])
                continue
            await self._flush_group(
                session,
                org_id,
                now,
                http,
                gid,
                channel_row,
                stored.get(gid),
                current.get(gid),
                policy,
                report,
            )
        await session.commit()
        return report

    async def _flush_group(
        self,
        session: AsyncSession,
        org_id: int,
        now: datetime,
        http: OutboundClient,
        gid: GroupId,
        channel_row: NotificationChannel,
        row: NotificationGroup | None,
        group: _Group | None,
        policy: RoutingPolicy,
        report: FlushReport,
    ) -> None:
        members = group.alerts if group else []
        route = group.route if group else (route_at(policy.route, gid[1]) or DEFAULT_ROUTE)
        if row is None:
            if not members:
                return
            first = min(a.fired_at or a.started_at for a in members)
            row = NotificationGroup(
                org_id=org_id,
                channel_id=gid[0],
                route_path=gid[1],
                group_key=gid[2],
                group_labels=group.labels if group else {},
                dedup_key=dedup_key(org_id, gid[1], gid[2]),
                created_at=now,
                next_flush_at=first + timedelta(milliseconds=route.group_wait_ms),
                last_alerts={},
            )
            session.add(row)
        if now < row.next_flush_at:
            return
        channel = channel_types.build(channel_row.kind, channel_row.name, channel_row.config)
        resend = channel.resend_every
        interval = timedelta(milliseconds=route.group_interval_ms)
        row.next_flush_at = now + (min(interval, resend) if resend else interval)
        member_ids = {a.id for a in members}
        gone = [int(i) for i in row.last_alerts if int(i) not in member_ids]
        resolved = (
            list(
                await session.scalars(
                    select(Alert)
                    .where(Alert.id.in_(gone), Alert.state == "resolved")
                    .order_by(Alert.id)
                )
            )
            if gone
            else []
        )
        if not members and not resolved:
            # Every alert left the group (silenced, inhibited or re-routed) without resolving:
            # there is nothing to say, and a new group forms if they come back.
            await session.delete(row)
            return
        status: Status
        if any(a.state == "firing" for a in members):
            status = "firing"
        elif members:
            status = "acknowledged"
        else:
            status = "resolved"
        digest = _digest(status, sorted(member_ids), [a.id for a in resolved])
        if row.last_notified_at is None:
            send = status == "firing"
        elif digest != row.last_hash:
            send = status != "resolved" or route.send_resolved or resend is not None
        elif resend is not None:
            send = status != "resolved" and now - row.last_notified_at >= resend
        else:
            repeat = timedelta(milliseconds=route.repeat_interval_ms)
            send = status == "firing" and now - row.last_notified_at >= repeat
        notification = Notification(
            id=uuid.uuid4().hex,
            org_id=org_id,
            receiver=channel_row.name,
            dedup_key=row.dedup_key,
            group_key=row.group_key,
            status=status,
            group_labels=dict(row.group_labels),
            alerts=[self._item(a) for a in [*members, *resolved]],
            sent_at=now,
            external_url=self.external_url,
        )
        if send and channel.wants(notification):
            await session.flush()
            outcome = await deliver(
                session,
                channel_row.id,
                channel,
                notification,
                http,
                policy=self.retry,
                sleep=self.sleep,
                alert_ids=[a.id for a in notification.alerts],
            )
            if not outcome.delivered:
                report.failed.append(notification)
                return
            report.sent.append(notification)
            row.last_notified_at = now
            if self.timeline is not None:
                for alert in [*members, *resolved]:
                    self.timeline(
                        session,
                        alert,
                        "notified",
                        now,
                        message=f"{notification.event} sent to {channel_row.name}",
                        data={"channel_id": channel_row.id, "dedup_key": row.dedup_key},
                    )
        elif row.last_notified_at is None and not members:
            # Resolved before anyone was told of it.
            await session.delete(row)
            return
        row.last_hash = digest
        row.last_alerts = {str(a.id): a.state for a in members}
        if status == "resolved":
            await session.delete(row)

    async def test_channel(
        self, session: AsyncSession, channel_row: NotificationChannel, now: datetime
    ) -> DeliveryOutcome:
        """Send one test notification to a channel (one attempt, logged) and commit."""
        channel = channel_types.build(channel_row.kind, channel_row.name, channel_row.config)
        item = AlertItem(
            id=0,
            fingerprint="test",
            status="firing",
            title="Failcast test notification",
            severity="info",
            service=None,
            labels={"alertname": "FailcastTest", "severity": "info"},
            value=None,
            started_at=now,
            resolved_at=None,
            url=self.external_url,
        )
        notification = Notification(
            id=uuid.uuid4().hex,
            org_id=channel_row.org_id,
            receiver=channel_row.name,
            dedup_key=f"failcast-test-{channel_row.id}",
            group_key="test",
            status="firing",
            group_labels={"alertname": "FailcastTest"},
            alerts=[item],
            sent_at=now,
            external_url=self.external_url,
            test=True,
        )
        async with OutboundClient(self.egress, timeout=self.timeout_seconds) as http:
            outcome = await deliver(
                session,
                channel_row.id,
                channel,
                notification,
                http,
                policy=RetryPolicy(attempts=1),
                sleep=self.sleep,
            )
        await session.commit()
        return outcome
