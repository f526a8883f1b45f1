"""Platform administration rules: search people and orgs, disable accounts, set plans, count."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit, sessions
from failcast.auth.audit import Action
from failcast.auth.principal import Principal
from failcast.db.cursors import row_id
from failcast.errors import Conflict, NotFound
from failcast.models import (
    ApiKey,
    AuditEvent,
    AuthSession,
    Membership,
    Organization,
    Series,
    Service,
    User,
)


def _cursor(cursor: str | None) -> int | None:
    return None if cursor is None else row_id(cursor)


def _like(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def _page(
    session: AsyncSession, query: Select[Any], id_column: Any, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    after = _cursor(cursor)
    if after is not None:
        query = query.where(id_column > after)
    rows = list((await session.execute(query.order_by(id_column).limit(limit + 1))).all())
    page = rows[:limit]
    return page, (str(page[-1][0].id) if len(rows) > limit else None)


async def _search(
    session: AsyncSession,
    model: Any,
    member_key: Any,
    fields: tuple[Any, ...],
    q: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[tuple[Any, int]], str | None]:
    """Rows of `model` with a field containing `q`, by id, each with its membership count."""
    count = (
        select(func.count()).select_from(Membership).where(member_key == model.id).scalar_subquery()
    )
    query = select(model, count)
    if q:
        pattern = _like(q)
        query = query.where(or_(*(func.lower(f).like(pattern, escape="\\") for f in fields)))
    rows, next_cursor = await _page(session, query, model.id, cursor, limit)
    return [(row, int(n)) for row, n in rows], next_cursor


async def search_users(
    session: AsyncSession, q: str | None, cursor: str | None, limit: int
) -> tuple[list[tuple[User, int]], str | None]:
    """Users whose email or name contains `q`, by id, with how many orgs each belongs to."""
    fields = (User.email, User.name)
    return await _search(session, User, Membership.user_id, fields, q, cursor, limit)


async def search_orgs(
    session: AsyncSession, q: str | None, cursor: str | None, limit: int
) -> tuple[list[tuple[Organization, int]], str | None]:
    """Orgs whose name or slug contains `q`, by id, with their member counts."""
    fields = (Organization.name, Organization.slug)
    return await _search(session, Organization, Membership.org_id, fields, q, cursor, limit)


async def _org_count(session: AsyncSession, user_id: int) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Membership).where(Membership.user_id == user_id)
    )
    return int(count or 0)


async def set_active(
    session: AsyncSession, principal: Principal, user_id: int, active: bool, now: datetime
) -> tuple[User, int]:
    """Disable or enable an account. Disabling ends every session of it at once."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    if not active and user.id == principal.user_id:
        raise Conflict("you cannot disable your own account")
    if user.is_active != active:
        user.is_active = active
        if not active:
            await sessions.revoke_all(session, user.id, "account disabled", now)
        audit.record(
            session,
            None,
            principal,
            Action.user_enabled if active else Action.user_disabled,
            f"user:{user.id}",
            {"email": user.email},
        )
        await session.flush()
    return user, await _org_count(session, user.id)


async def set_plan(
    session: AsyncSession, principal: Principal, org_id: int, plan: str
) -> tuple[Organization, int]:
    org = await session.get(Organization, org_id)
    if org is None:
        raise NotFound("organisation not found")
    if org.plan != plan:
        # Recorded on the org too, so its admins see who changed their plan.
        audit.record(
            session,
            org.id,
            principal,
            Action.plan_changed,
            f"org:{org.id}",
            {"from": org.plan, "to": plan},
        )
        org.plan = plan
        await session.flush()
    members = await session.scalar(
        select(func.count()).select_from(Membership).where(Membership.org_id == org.id)
    )
    return org, int(members or 0)


async def _count(session: AsyncSession, query: Select[Any]) -> int:
    return int(await session.scalar(query) or 0)


async def stats(session: AsyncSession, now: datetime) -> dict[str, Any]:
    """System-wide counts for the operators' overview."""
    day_ago = now - timedelta(days=1)
    count = func.count()
    plans = await session.execute(
        select(Organization.plan, count).group_by(Organization.plan).order_by(Organization.plan)
    )
    return {
        "users": await _count(session, select(count).select_from(User)),
        "active_users": await _count(session, select(count).where(User.is_active.is_(True))),
        "superusers": await _count(session, select(count).where(User.is_superuser.is_(True))),
        "orgs": await _count(session, select(count).select_from(Organization)),
        "orgs_by_plan": {plan: int(n) for plan, n in plans},
        "live_sessions": await _count(
            session,
            select(count).where(AuthSession.revoked_at.is_(None), AuthSession.expires_at > now),
        ),
        "active_api_keys": await _count(
            session,
            select(count).where(
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            ),
        ),
        "services": await _count(session, select(count).select_from(Service)),
        "series": await _count(session, select(count).select_from(Series)),
        "logins_last_24h": await _count(
            session,
            select(count).where(
                AuditEvent.action == Action.login, AuditEvent.created_at >= day_ago
            ),
        ),
        # Failures of a known account are recorded once per org it belongs to.
        "failed_logins_last_24h": await _count(
            session,
            select(count).where(
                AuditEvent.action == Action.login_failed, AuditEvent.created_at >= day_ago
            ),
        ),
    }
