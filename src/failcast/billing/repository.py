"""Billing queries: plans, subscriptions, monthly usage and service counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.billing.plans import FREE, Limits, limits_for
from failcast.db.upsert import dialect_insert
from failcast.models import Organization, OrgUsage, Plan, Service, Subscription


async def plans(session: AsyncSession) -> list[Plan]:
    return list(await session.scalars(select(Plan).order_by(Plan.position)))


async def plan(session: AsyncSession, code: str) -> Plan | None:
    return await session.get(Plan, code)


async def org_limits(session: AsyncSession, org_id: int) -> Limits:
    """The org's plan limits with its overrides; an unknown plan code counts as free."""
    row = (
        await session.execute(
            select(Organization.plan, Subscription.overrides)
            .outerjoin(Subscription, Subscription.org_id == Organization.id)
            .where(Organization.id == org_id)
        )
    ).first()
    code, overrides = (row[0], row[1]) if row is not None else (FREE, None)
    found = await session.get(Plan, code) or await session.get(Plan, FREE)
    if found is None:
        raise RuntimeError("the plan table is empty: run the migrations")
    return limits_for(found, overrides if found.custom else None)


async def subscription(
    session: AsyncSession, org_id: int, *, lock: bool = False
) -> Subscription | None:
    statement = select(Subscription).where(Subscription.org_id == org_id)
    if lock:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def subscription_or_new(
    session: AsyncSession, org_id: int, *, lock: bool = False
) -> Subscription:
    found = await subscription(session, org_id, lock=lock)
    if found is not None:
        return found
    org_plan = await session.scalar(select(Organization.plan).where(Organization.id == org_id))
    row = Subscription(
        org_id=org_id, plan=org_plan or FREE, status="none", event_created=0, overrides={}
    )
    session.add(row)
    await session.flush()
    return row


async def org_for_customer(session: AsyncSession, customer_id: str) -> int | None:
    org_id: int | None = await session.scalar(
        select(Subscription.org_id).where(Subscription.stripe_customer_id == customer_id)
    )
    return org_id


async def service_count(session: AsyncSession, org_id: int) -> int:
    count = await session.scalar(select(func.count()).where(Service.org_id == org_id))
    return int(count or 0)


async def usage(session: AsyncSession, org_id: int, month: str) -> tuple[int, int]:
    """(predictions, samples) recorded for the org in `month`."""
    row = await session.get(OrgUsage, (org_id, month))
    return (row.predictions, row.samples) if row is not None else (0, 0)


async def add_usage(
    session: AsyncSession,
    org_id: int,
    month: str,
    now: datetime,
    *,
    predictions: int = 0,
    samples: int = 0,
) -> None:
    """Add to the month's counters in one statement, so concurrent writers never lose counts."""
    table: Any = OrgUsage.__table__
    statement = dialect_insert(session, table).values(
        org_id=org_id, month=month, predictions=predictions, samples=samples, updated_at=now
    )
    statement = statement.on_conflict_do_update(
        index_elements=["org_id", "month"],
        set_={
            "predictions": table.c.predictions + statement.excluded.predictions,
            "samples": table.c.samples + statement.excluded.samples,
            "updated_at": statement.excluded.updated_at,
        },
    )
    await session.execute(statement)
