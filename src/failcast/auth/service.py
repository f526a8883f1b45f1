"""Account rules: registration, sign-in with lockout, sessions and the org a session acts
for. Email verification and password recovery are in recovery.py, identity-provider sign-in
in sso.py, API keys in keys.py."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit, sessions
from failcast.auth.audit import Action
from failcast.auth.password_policy import problems
from failcast.auth.passwords import Passwords
from failcast.auth.ratelimit import LockState, TooManyRequests
from failcast.auth.security import Security
from failcast.auth.sessions import Issued
from failcast.db.transactions import keep_on_error
from failcast.errors import Conflict, Forbidden, Unauthorized, ValidationFailed
from failcast.models import Membership, Organization, Role, User

INVALID_LOGIN = "invalid email or password"


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60]
    return slug or "org"


async def unique_slug(session: AsyncSession, name: str) -> str:
    base = slugify(name)
    slug = base
    while await session.scalar(select(Organization.id).where(Organization.slug == slug)):
        slug = f"{base}-{secrets.token_hex(3)}"
    return slug


async def create_org(session: AsyncSession, name: str) -> Organization:
    org = Organization(name=name, slug=await unique_slug(session, name))
    session.add(org)
    await session.flush()
    return org


def check_password(password: str, email: str, field: str = "password") -> None:
    """Refuse a password the policy rejects, with a 422 naming `field`."""
    found = problems(password, email)
    if found:
        raise ValidationFailed([{"field": field, "msg": msg} for msg in found])


async def register(
    session: AsyncSession,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    name: str,
    org_name: str,
) -> tuple[User, Organization]:
    """Create a user and their first org; the user becomes its owner."""
    email = email.lower()
    check_password(password, email)
    if await session.scalar(select(User.id).where(User.email == email)):
        raise Conflict("an account with this email already exists")
    user = User(email=email, name=name, password_hash=await passwords.hash(password))
    session.add(user)
    org = await create_org(session, org_name)
    await session.flush()
    session.add(Membership(user_id=user.id, org_id=org.id, role=Role.owner))
    audit.record(session, org.id, user, Action.org_created, f"org:{org.id}")
    await session.flush()
    return user, org


async def org_ids_of(session: AsyncSession, user_id: int) -> list[int]:
    rows = await session.scalars(
        select(Membership.org_id).where(Membership.user_id == user_id).order_by(Membership.id)
    )
    return list(rows)


async def record_for_user(
    session: AsyncSession, user: User, action: str, details: dict[str, object], ip: str
) -> None:
    # Account events concern every org the person belongs to; each org's admins see them.
    for org_id in await org_ids_of(session, user.id):
        audit.record(session, org_id, user.email, action, f"user:{user.id}", details, ip=ip)


async def login(
    session: AsyncSession,
    security: Security,
    passwords: Passwords,
    *,
    email: str,
    password: str,
    org_id: int | None,
    ip: str,
    user_agent: str,
) -> Issued:
    """Check a password and open a session, counting failures per account and per address."""
    settings = security.settings
    now = security.now()
    email = email.lower()
    ip_key = f"login-failures:{ip}"
    ip_state = await security.limiter.peek(
        ip_key, settings.lockout_ip_threshold, settings.lockout_duration
    )
    if not ip_state.allowed:
        raise TooManyRequests(
            "too many failed sign-ins from this address; try again later", ip_state.retry_after
        )
    user = await session.scalar(select(User).where(User.email == email))
    # Unknown emails lock exactly like real accounts, so a lockout reveals nothing either.
    state = (
        LockState(user.failed_logins, user.locked_until)
        if user is not None
        else security.phantom_locks.get(email)
    )
    wait = state.locked_for(now)
    if wait:
        raise TooManyRequests("too many failed sign-ins; try again later", wait)
    ok = await passwords.verify(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        await security.limiter.hit(ip_key, settings.lockout_ip_threshold, settings.lockout_duration)
        after = state.after_failure(now, settings.lockout_threshold, settings.lockout_duration)
        if user is None:
            security.phantom_locks.set(email, after)
        else:
            user.failed_logins, user.locked_until = after.failures, after.locked_until
            await record_for_user(session, user, Action.login_failed, {}, ip)
            if after.locked_until is not None:
                await record_for_user(
                    session,
                    user,
                    Action.lockout,
                    {"until": after.locked_until.isoformat()},
                    ip,
                )
            # The failure counts (and may lock the account) although the answer is an error.
            keep_on_error(session)
        raise Unauthorized(INVALID_LOGIN)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    return await sign_in(
        session, security, user, org_id, now=now, ip=ip, user_agent=user_agent, method="password"
    )


async def sign_in(
    session: AsyncSession,
    security: Security,
    user: User,
    org_id: int | None,
    *,
    now: datetime,
    ip: str,
    user_agent: str,
    method: str,
) -> Issued:
    """Open a session in the chosen org for someone who just proved who they are by `method`,
    and record the sign-in."""
    chosen = await choose_org(session, user.id, org_id)
    issued = await sessions.start(
        session,
        security.settings,
        user_id=user.id,
        org_id=chosen,
        now=now,
        ip=ip,
        user_agent=user_agent,
        method=method,
    )
    audit.record(
        session,
        chosen,
        user,
        Action.login,
        f"session:{issued.session_id}",
        {"method": method},
        ip=ip,
    )
    await session.flush()
    return issued


async def start_session(
    session: AsyncSession,
    security: Security,
    user: User,
    org_id: int,
    *,
    ip: str,
    user_agent: str,
    method: str,
) -> Issued:
    """Open a session for someone who just proved who they are another way."""
    issued = await sessions.start(
        session,
        security.settings,
        user_id=user.id,
        org_id=org_id,
        now=security.now(),
        ip=ip,
        user_agent=user_agent,
        method=method,
    )
    await session.flush()
    return issued


async def memberships(session: AsyncSession, user_id: int) -> list[tuple[Organization, Role]]:
    rows = await session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    )
    return [(org, role) for org, role in rows]


async def choose_org(session: AsyncSession, user_id: int, org_id: int | None) -> int:
    orgs = await org_ids_of(session, user_id)
    if not orgs:
        raise Forbidden("this account belongs to no organisation")
    if org_id is None:
        return orgs[0]
    if org_id not in orgs:
        raise Forbidden("not a member of that organisation")
    return org_id
