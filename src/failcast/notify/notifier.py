"""The notifier: at each flush, turns the org's active alerts into notifications on its
channels, with the groups and timers of grouping.py, and delivers them (delivery.py).

Alerting decides which alerts are suppressed (silences, maintenance, inhibition) and records
it on each alert; the notifier routes the others, and writes what it sent to the alerts'
timelines through the `timeline` it is given.

`flush(now)` takes the time as a parameter, so tests walk through the timers without sleeping.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.egress import EgressPolicy, OutboundClient
from failcast.models import Alert, NotificationChannel, NotificationGroup
from failcast.models.alert import ACTIVE_STATES
from failcast.notify import channels as channel_types
from failcast.notify.delivery import DeliveryOutcome, RetryPolicy, Sleep, deliver
from failcast.notify.grouping import (
    Group,
    GroupId,
    dedup_key,
    digest,
    group_alerts,
    group_status,
    load_policy,
    should_send,
)
from failcast.notify.payloads import Notification, alert_item, test_notification
from failcast.notify.routing import (
    DEFAULT_ROUTE,
    RoutingPolicy,
    route_at,
)
from failcast.teams import service as teams


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

    async def flush(self, now: datetime, *, org_id: int | None = None) -> FlushReport:
        """Flush every org that has channels (or only `org_id`) at `now`."""
        report = FlushReport()
        if org_id is None:
            async with session_scope(self.database) as session:
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
                async with session_scope(self.database) as session:
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
        unsuppressed = [a for a in alerts if a.id not in report.suppressed]
        current = group_alerts(unsuppressed, policy, owners, {row.name: row.id for row in rows})
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
        await session.flush()
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
        group: Group | None,
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
        status = group_status(members)
        said = digest(status, sorted(member_ids), [a.id for a in resolved])
        send = should_send(
            status=status,
            changed=said != row.last_hash,
            last_notified_at=row.last_notified_at,
            now=now,
            route=route,
            resend=resend,
        )
        notification = Notification(
            id=uuid.uuid4().hex,
            org_id=org_id,
            receiver=channel_row.name,
            dedup_key=row.dedup_key,
            group_key=row.group_key,
            status=status,
            group_labels=dict(row.group_labels),
            alerts=[alert_item(a, self.external_url) for a in [*members, *resolved]],
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
        row.last_hash = said
        row.last_alerts = {str(a.id): a.state for a in members}
        if status == "resolved":
            await session.delete(row)

    async def test_channel(
        self, session: AsyncSession, channel_row: NotificationChannel, now: datetime
    ) -> DeliveryOutcome:
        """Send one test notification to a channel (one attempt, logged)."""
        channel = channel_types.build(channel_row.kind, channel_row.name, channel_row.config)
        notification = test_notification(
            channel_row.org_id, channel_row.id, channel_row.name, now, self.external_url
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
        await session.flush()
        return outcome
