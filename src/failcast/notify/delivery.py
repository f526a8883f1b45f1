"""Delivery with retries and exponential backoff; every attempt goes to the delivery log."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.egress import OutboundClient
from failcast.models import DeliveryAttempt
from failcast.notify.channels import Channel, DeliveryError
from failcast.notify.payloads import Notification

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """`attempts` tries in all; the wait after try n is initial * factor**(n-1), capped."""

    attempts: int = 4
    initial_seconds: float = 1.0
    factor: float = 2.0
    max_seconds: float = 60.0

    def delay(self, attempt: int) -> float:
        return min(self.initial_seconds * self.factor ** (attempt - 1), self.max_seconds)


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    delivered: bool
    attempts: int
    status_code: int | None
    error: str | None


async def deliver(
    session: AsyncSession,
    channel_id: int,
    channel: Channel,
    notification: Notification,
    http: OutboundClient,
    *,
    policy: RetryPolicy,
    sleep: Sleep = asyncio.sleep,
    clock: Clock = time.perf_counter,
    alert_ids: Sequence[int] = (),
) -> DeliveryOutcome:
    """Send until it succeeds, a permanent error occurs or the attempts run out; each try
    is logged with its status code, error and duration (the caller commits)."""
    waited = 0.0
    status: int | None = None
    error: str | None = None
    for attempt in range(1, policy.attempts + 1):
        started = clock()
        ok, permanent = False, False
        try:
            status = await channel.send(notification, http)
            error, ok = None, True
        except DeliveryError as exc:
            status, error, permanent = exc.status_code, exc.message, exc.permanent
        session.add(
            DeliveryAttempt(
                org_id=notification.org_id,
                channel_id=channel_id,
                notification_id=notification.id,
                dedup_key=notification.dedup_key,
                event="test" if notification.test else notification.event,
                attempt=attempt,
                at=notification.sent_at + timedelta(seconds=waited),
                success=ok,
                status_code=status,
                error=error,
                duration_ms=round((clock() - started) * 1000, 3),
                alert_ids=list(alert_ids),
            )
        )
        if ok:
            return DeliveryOutcome(True, attempt, status, None)
        if permanent or attempt == policy.attempts:
            return DeliveryOutcome(False, attempt, status, error)
        delay = policy.delay(attempt)
        waited += delay
        await sleep(delay)
    return DeliveryOutcome(False, policy.attempts, status, error)
