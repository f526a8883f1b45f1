"""Stripe webhook events -> the org's subscription and plan, each event applied once.

Ordering: Stripe does not promise delivery order, so each subscription remembers the `created`
time of the newest event it applied and ignores older ones. A cancelled subscription is final:
no event about that same subscription brings it back (a new purchase is a new subscription).

    checkout.session.completed       -> plan from the session's metadata, status active
    customer.subscription.updated    -> active/trialing: the price's plan; past_due/unpaid:
                                        grace period starts; canceled/incomplete_expired: free
    customer.subscription.deleted    -> free, status canceled
    invoice.payment_failed           -> status past_due, grace period starts (if not running)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit
from failcast.billing import repository
from failcast.billing.gateway import StripeGateway
from failcast.billing.plans import FREE
from failcast.errors import ValidationFailed
from failcast.models import Organization, StripeEvent, Subscription
from failcast.timeutil import ms_to_datetime

HANDLED = {
    "checkout.session.completed",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "invoice.payment_failed",
}
LIVE = {"active", "trialing"}
UNPAID = {"past_due", "unpaid"}
ENDED = {"canceled", "incomplete_expired"}
PLAN_CHANGED = "billing.plan_changed"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one event: applied, duplicate, stale, ignored or unknown_customer."""

    outcome: str
    org_id: int | None = None
    plan_changed: bool = False


def parse_event(payload: bytes) -> dict[str, Any]:
    try:
        event = json.loads(payload)
    except ValueError:
        raise ValidationFailed([{"field": None, "msg": "body is not JSON"}]) from None
    ok = isinstance(event, dict) and isinstance(event.get("id"), str)
    ok = ok and isinstance(event.get("type"), str) and isinstance(event.get("created"), int)
    if not ok or not isinstance(event.get("data", {}).get("object"), dict):
        raise ValidationFailed([{"field": None, "msg": "not a Stripe event"}])
    checked: dict[str, Any] = event
    return checked


def _str(value: Any) -> str | None:
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def _org_id_from(obj: dict[str, Any]) -> int | None:
    for value in (obj.get("client_reference_id"), _metadata(obj).get("org_id")):
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def _price_of(obj: dict[str, Any]) -> tuple[str | None, int | None]:
    """(price id, current period end) of a subscription object's first item."""
    items = obj.get("items", {}).get("data") if isinstance(obj.get("items"), dict) else None
    first = items[0] if isinstance(items, list) and items and isinstance(items[0], dict) else {}
    price = _str(first.get("price"))
    # Newer API versions moved current_period_end from the subscription onto its items.
    end = obj.get("current_period_end", first.get("current_period_end"))
    return price, end if isinstance(end, int) else None


class WebhookProcessor:
    """Applies verified Stripe events to subscriptions and plans."""

    def __init__(self, gateway: StripeGateway, grace: timedelta) -> None:
        self.gateway = gateway
        self.grace = grace

    async def process(self, session: AsyncSession, event: dict[str, Any], now: datetime) -> Outcome:
        """Apply `event` unless it was seen before; the event row and its effects commit
        together, so a failure part-way lets Stripe's retry apply it again."""
        event_id = event["id"]
        if await session.get(StripeEvent, event_id) is not None:
            return Outcome("duplicate")
        result = await self._apply(session, event, now)
        session.add(
            StripeEvent(
                id=event_id,
                type=event["type"],
                created=event["created"],
                org_id=result.org_id,
                outcome=result.outcome,
                received_at=now,
            )
        )
        try:
            await session.flush()
        except IntegrityError:
            # The same event, delivered twice at once: the other delivery applied it.
            await session.rollback()
            return Outcome("duplicate")
        return result

    async def _org_of(self, session: AsyncSession, obj: dict[str, Any]) -> int | None:
        org_id = _org_id_from(obj)
        if org_id is not None and await session.get(Organization, org_id) is not None:
            return org_id
        customer = _str(obj.get("customer"))
        return await repository.org_for_customer(session, customer) if customer else None

    async def _apply(self, session: AsyncSession, event: dict[str, Any], now: datetime) -> Outcome:
        kind, created = event["type"], int(event["created"])
        obj: dict[str, Any] = event["data"]["object"]
        if kind not in HANDLED:
            return Outcome("ignored")
        org_id = await self._org_of(session, obj)
        if org_id is None:
            return Outcome("unknown_customer")
        sub = await repository.subscription_or_new(session, org_id, lock=True)
        if created < sub.event_created:
            return Outcome("stale", org_id)
        subscription_id = (
            _str(obj.get("subscription"))
            if kind.startswith(("checkout", "invoice"))
            else _str(obj.get("id"))
        )
        if (
            sub.status == "canceled"
            and subscription_id is not None
            and subscription_id == sub.stripe_subscription_id
            and kind != "customer.subscription.deleted"
        ):
            return Outcome("stale", org_id)
        before = await self._org_plan(session, org_id)
        customer = _str(obj.get("customer"))
        if customer and not sub.stripe_customer_id:
            sub.stripe_customer_id = customer
        if kind == "checkout.session.completed":
            applied = self._checkout(sub, obj, subscription_id)
        elif kind == "customer.subscription.updated":
            applied = self._updated(sub, obj, subscription_id, now)
        elif kind == "customer.subscription.deleted":
            applied = self._deleted(sub, subscription_id)
        else:
            applied = self._payment_failed(sub, subscription_id, now)
        if not applied:
            return Outcome("ignored", org_id)
        sub.event_created = max(sub.event_created, created)
        sub.updated_at = now
        changed = await self._set_org_plan(session, org_id, sub.plan, before, event["id"])
        return Outcome("applied", org_id, changed)

    @staticmethod
    async def _org_plan(session: AsyncSession, org_id: int) -> str:
        org = await session.get(Organization, org_id)
        assert org is not None
        return org.plan

    @staticmethod
    async def _set_org_plan(
        session: AsyncSession, org_id: int, plan: str, before: str, event_id: str
    ) -> bool:
        if plan == before:
            return False
        org = await session.get(Organization, org_id)
        assert org is not None
        org.plan = plan
        audit.record(
            session, org_id, "stripe", PLAN_CHANGED, f"org:{org_id}",
            {"from": before, "to": plan, "event": event_id},
        )  # fmt: skip
        return True

    def _checkout(
        self, sub: Subscription, obj: dict[str, Any], subscription_id: str | None
    ) -> bool:
        plan = _metadata(obj).get("plan")
        if not isinstance(plan, str) or plan not in {"starter", "professional", "enterprise"}:
            return False
        sub.plan = plan
        sub.status = "active"
        sub.grace_until = None
        if subscription_id:
            sub.stripe_subscription_id = subscription_id
        return True

    def _owns(self, sub: Subscription, subscription_id: str | None, status: str) -> bool:
        """Whether an event about `subscription_id` speaks for the org's subscription: it is
        the current one, there is none, or a live new one replaces an ended one."""
        current = sub.stripe_subscription_id
        if current is None or subscription_id is None or subscription_id == current:
            return True
        return status in LIVE and sub.status not in LIVE

    def _updated(
        self, sub: Subscription, obj: dict[str, Any], subscription_id: str | None, now: datetime
    ) -> bool:
        status = obj.get("status")
        if not isinstance(status, str) or not self._owns(sub, subscription_id, status):
            return False
        price, period_end = _price_of(obj)
        plan = (self.gateway.plan_for_price(price) if price else None) or _metadata(obj).get("plan")
        sub.stripe_subscription_id = subscription_id or sub.stripe_subscription_id
        sub.status = status
        if period_end is not None:
            sub.current_period_end = ms_to_datetime(period_end * 1000)
        if status in LIVE:
            if isinstance(plan, str) and plan:
                sub.plan = plan
            sub.grace_until = None
        elif status in UNPAID:
            sub.grace_until = sub.grace_until or now + self.grace
        elif status in ENDED:
            sub.plan = FREE
            sub.grace_until = None
        return True

    def _deleted(self, sub: Subscription, subscription_id: str | None) -> bool:
        if not self._owns(sub, subscription_id, "canceled"):
            return False
        sub.stripe_subscription_id = subscription_id or sub.stripe_subscription_id
        sub.status = "canceled"
        sub.plan = FREE
        sub.grace_until = None
        return True

    def _payment_failed(
        self, sub: Subscription, subscription_id: str | None, now: datetime
    ) -> bool:
        if not self._owns(sub, subscription_id, "past_due") or sub.plan == FREE:
            return False
        sub.status = "past_due"
        sub.grace_until = sub.grace_until or now + self.grace
        return True
