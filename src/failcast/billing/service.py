"""Billing rules: the org's plan and usage, upgrades through Stripe, the grace period."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit
from failcast.auth.principal import Principal
from failcast.billing import repository
from failcast.billing.gateway import StripeGateway
from failcast.billing.plans import FREE, Limits, month_key, next_month_start
from failcast.billing.quotas import Quotas
from failcast.billing.schemas import (
    BillingOut,
    LimitsOut,
    OrgUsageOut,
    PlanOut,
    UsageOut,
    UsageReport,
)
from failcast.billing.webhooks import PLAN_CHANGED
from failcast.config import Settings
from failcast.db.cursors import row_id
from failcast.db.engine import Database
from failcast.db.transactions import after_commit, session_scope
from failcast.errors import Conflict, NotFound
from failcast.models import Organization, OrgUsage, Plan, Service, Subscription, User


def plan_out(plan: Plan) -> PlanOut:
    return PlanOut(
        code=plan.code,
        name=plan.name,
        price_usd_per_month=plan.price_cents / 100,
        max_services=plan.max_services,
        max_predictions_per_month=plan.max_predictions_per_month,
        retention_days=plan.retention_days,
        max_samples_per_minute=plan.max_samples_per_minute,
        custom=plan.custom,
    )


def limits_out(limits: Limits) -> LimitsOut:
    return LimitsOut(**limits.as_dict())


async def overview(
    session: AsyncSession, org_id: int, quotas: Quotas, now: datetime, *, metered: bool = True
) -> BillingOut:
    """The org's plan, limits and this month's usage (samples include unflushed counts)."""
    limits = await repository.org_limits(session, org_id)
    plan = await repository.plan(session, limits.plan)
    assert plan is not None
    month = month_key(now)
    predictions, samples = await repository.usage(session, org_id, month)
    sub = await repository.subscription(session, org_id)
    return BillingOut(
        plan=plan_out(plan),
        status=sub.status if sub else "none",
        limits=limits_out(limits),
        usage=UsageOut(
            month=month,
            services=await repository.service_count(session, org_id),
            predictions=predictions,
            samples=samples + quotas.pending_samples(org_id, month),
        ),
        resets_at=next_month_start(now),
        grace_until=sub.grace_until if sub else None,
        current_period_end=sub.current_period_end if sub else None,
        has_customer=bool(sub and sub.stripe_customer_id),
        metered=metered,
    )


async def _customer(
    session: AsyncSession, gateway: StripeGateway, principal: Principal
) -> tuple[Subscription, str]:
    sub = await repository.subscription_or_new(session, principal.org_id)
    if sub.stripe_customer_id:
        return sub, sub.stripe_customer_id
    org = await session.get(Organization, principal.org_id)
    user = await session.get(User, principal.user_id) if principal.user_id else None
    assert org is not None
    customer = await gateway.create_customer(org.id, org.name, user.email if user else "")
    sub.stripe_customer_id = customer
    await session.flush()
    return sub, customer


async def checkout(
    session: AsyncSession,
    gateway: StripeGateway,
    settings: Settings,
    principal: Principal,
    plan: str,
    success_url: str | None,
    cancel_url: str | None,
) -> tuple[str, str]:
    """A Checkout session upgrading the org to `plan`: (id, URL to send the owner to)."""
    price = gateway.price_for(plan)
    sub, customer = await _customer(session, gateway, principal)
    if sub.plan == plan and sub.status in ("active", "trialing"):
        raise Conflict(f"the organisation is already on the {plan} plan")
    base = settings.public_url.rstrip("/")
    session_id, url = await gateway.checkout(
        customer=customer,
        price=price,
        org_id=principal.org_id,
        plan=plan,
        success_url=success_url or f"{base}/app/settings?billing=success",
        cancel_url=cancel_url or f"{base}/app/settings?billing=cancelled",
    )
    audit.record(
        session, principal.org_id, principal, "billing.checkout_started", f"plan:{plan}",
        {"checkout_session": session_id},
    )  # fmt: skip
    await session.flush()
    return session_id, url


async def portal(
    session: AsyncSession,
    gateway: StripeGateway,
    settings: Settings,
    principal: Principal,
    return_url: str | None,
) -> str:
    sub = await repository.subscription(session, principal.org_id)
    if sub is None or not sub.stripe_customer_id:
        raise Conflict("the organisation has no billing account yet: upgrade through checkout")
    base = settings.public_url.rstrip("/")
    return await gateway.portal(
        customer=sub.stripe_customer_id, return_url=return_url or f"{base}/app/settings"
    )


async def expire_grace(database: Database, quotas: Quotas, now: datetime) -> list[int]:
    """Move orgs whose payment grace period has run out to the free plan; their ids."""
    async with session_scope(database) as session:
        due = list(
            await session.scalars(
                select(Subscription)
                .where(Subscription.grace_until.is_not(None), Subscription.grace_until <= now)
                .with_for_update()
            )
        )
        moved = []
        for sub in due:
            org = await session.get(Organization, sub.org_id)
            assert org is not None
            if org.plan != FREE:
                audit.record(
                    session,
                    org.id,
                    "billing",
                    PLAN_CHANGED,
                    f"org:{org.id}",
                    {"from": org.plan, "to": FREE, "reason": "payment grace period ended"},
                )
                org.plan = FREE
            sub.plan = FREE
            sub.status = "grace_expired"
            sub.grace_until = None
            sub.updated_at = now
            moved.append(org.id)
    for org_id in moved:
        quotas.forget(org_id)
    return moved


async def usage_report(
    session: AsyncSession, quotas: Quotas, month: str, cursor: str | None, limit: int
) -> UsageReport:
    """Every org's usage in `month` with its plan and limits, by org id, for operators."""
    after = 0
    if cursor is not None:
        after = row_id(cursor)
    services = (
        select(func.count())
        .select_from(Service)
        .where(Service.org_id == Organization.id)
        .scalar_subquery()
    )
    rows = list(
        (
            await session.execute(
                select(
                    Organization,
                    services,
                    OrgUsage.predictions,
                    OrgUsage.samples,
                    Subscription.status,
                )
                .outerjoin(
                    OrgUsage, (OrgUsage.org_id == Organization.id) & (OrgUsage.month == month)
                )
                .outerjoin(Subscription, Subscription.org_id == Organization.id)
                .where(Organization.id > after)
                .order_by(Organization.id)
                .limit(limit + 1)
            )
        ).all()
    )
    items = []
    for org, service_count, predictions, samples, status in rows[:limit]:
        limits = await repository.org_limits(session, org.id)
        items.append(
            OrgUsageOut(
                org_id=org.id,
                name=org.name,
                plan=org.plan,
                status=status or "none",
                services=int(service_count or 0),
                predictions=int(predictions or 0),
                samples=int(samples or 0) + quotas.pending_samples(org.id, month),
                limits=limits_out(limits),
            )
        )
    next_cursor = str(rows[limit - 1][0].id) if len(rows) > limit else None
    return UsageReport(month=month, orgs=items, next_cursor=next_cursor)


async def set_overrides(
    session: AsyncSession, quotas: Quotas, principal: Principal, org_id: int, values: dict[str, Any]
) -> Limits:
    """Set an org's negotiated limits (they apply while it is on a custom plan)."""
    if await session.get(Organization, org_id) is None:
        raise NotFound("organisation not found")
    sub = await repository.subscription_or_new(session, org_id)
    sub.overrides = dict(values)
    audit.record(session, org_id, principal, "billing.limits_set", f"org:{org_id}", dict(values))
    await session.flush()
    # Forgotten before the commit, the old limits could be cached again from the store.
    after_commit(session, partial(_forget, quotas, org_id))
    return await repository.org_limits(session, org_id)


async def _forget(quotas: Quotas, org_id: int) -> None:
    quotas.forget(org_id)
