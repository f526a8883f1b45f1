"""Account rules: registration, sign-in with lockout, email verification, password reset and
change, sign-in through an identity provider, and API key management."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import api_keys, audit, sessions
from failcast.auth.api_keys import Scope
from failcast.auth.audit import Action
from failcast.auth.mailer import render
from failcast.auth.oidc import Identity
from failcast.auth.password_policy import problems
from failcast.auth.passwords import Passwords
from failcast.auth.principal import Principal
from failcast.auth.ratelimit import LockState, TooManyRequests
from failcast.auth.security import Security
from failcast.auth.sessions import Issued
from failcast.auth.tokens import Purpose, decode_action_token, issue_action_token, state_of
from failcast.config import Settings
from failcast.errors import Conflict, Forbidden, NotFound, Unauthorized, ValidationFailed
from failcast.models import ApiKey, Membership, Organization, Role, User, UserIdentity

# At most this many reset emails per address per hour, so the form cannot flood a mailbox.
_RESET_MAILS_PER_HOUR = 3
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
    session.add(Membership(user_id=user.id, org_id=org.id, role=Role.owner.value))
    audit.record(session, org.id, user, Action.org_created, f"org:{org.id}")
    await session.commit()
    return user, org


async def org_ids_of(session: AsyncSession, user_id: int) -> list[int]:
    rows = await session.scalars(
        select(Membership.org_id).where(Membership.user_id == user_id).order_by(Membership.id)
    )
    return list(rows)


async def _record_for_user(
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
            await _record_for_user(session, user, Action.login_failed, {}, ip)
            if after.locked_until is not None:
                await _record_for_user(
                    session,
                    user,
                    Action.lockout,
                    {"until": after.locked_until.isoformat()},
                    ip,
                )
            await session.commit()
        raise Unauthorized(INVALID_LOGIN)
    user.failed_logins, user.locked_until, user.last_login_at = 0, None, now
    chosen = await choose_org(session, user.id, org_id)
    issued = await sessions.start(
        session, settings, user_id=user.id, org_id=chosen, now=now, ip=ip, user_agent=user_agent
    )
    audit.record(
        session,
        chosen,
        user,
        Action.login,
        f"session:{issued.session_id}",
        {"method": "password"},
        ip=ip,
    )
    await session.commit()
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
    """Open a session for someone who just proved who they are another way, and commit."""
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
    await session.commit()
    return issued


async def memberships(session: AsyncSession, user_id: int) -> list[tuple[Organization, Role]]:
    rows = await session.execute(
        select(Organization, Membership.role)
        .join(Membership, Membership.org_id == Organization.id)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    )
    return [(org, Role(role)) for org, role in rows]


async def choose_org(session: AsyncSession, user_id: int, org_id: int | None) -> int:
    orgs = await org_ids_of(session, user_id)
    if not orgs:
        raise Forbidden("this account belongs to no organisation")
    if org_id is None:
        return orgs[0]
    if org_id not in orgs:
        raise Forbidden("not a member of that organisation")
    return org_id


# People open mailed links in a browser. With the dashboard mounted (at /app), an action link
# opens the page that performs the action and shows its outcome, instead of an API answer.
DASHBOARD_PAGES = {
    "/api/v1/email/verify": "/app/verify",
    "/api/v1/password/reset": "/app/reset",
}
# Endpoints that carry the token in the path; the page takes it as `?token=`.
DASHBOARD_TOKEN_PAGES = {"/api/v1/invitations/": "/app/invite"}


def link(settings: Settings, path: str) -> str:
    """An absolute address on this installation, as mailed to people: the dashboard page of
    an action endpoint when the dashboard is served, else the endpoint itself."""
    route, mark, query = path.partition("?")
    if settings.dashboard_enabled and route in DASHBOARD_PAGES:
        path = DASHBOARD_PAGES[route] + mark + query
    elif settings.dashboard_enabled:
        for prefix, page in DASHBOARD_TOKEN_PAGES.items():
            token = route.removeprefix(prefix)
            if token != route and token and "/" not in token:
                path = f"{page}?token={token}"
    return settings.public_url.rstrip("/") + path


async def send_verification(security: Security, user: User) -> None:
    """Mail a link that confirms the user owns their email address."""
    settings = security.settings
    token = issue_action_token(
        settings,
        Purpose.verify_email,
        user_id=user.id,
        email=user.email,
        state=state_of("verify", user.email, user.email_verified_at),
        now=security.now(),
        ttl=settings.email_verification_ttl,
    )
    hours = int(settings.email_verification_ttl.total_seconds() // 3600)
    await security.send_later(
        render(
            to=user.email,
            subject="Confirm your email address for Failcast",
            intro="Please confirm that this is your email address, so Failcast can reach you "
            "about alerts and your account.",
            action="Confirm my email address",
            link=link(settings, f"/api/v1/email/verify?token={token}"),
            outro=f"The link works once and expires in {hours} hours. If you did not sign up, "
            "ignore this message.",
        )
    )


async def verify_email(session: AsyncSession, security: Security, token: str) -> User:
    now = security.now()
    claims = decode_action_token(security.settings, token, Purpose.verify_email, now=now)
    user = await session.get(User, claims.user_id)
    if (
        user is None
        or user.email != claims.email
        or claims.state != state_of("verify", user.email, user.email_verified_at)
    ):
        raise ValidationFailed([{"field": "token", "msg": "this link is invalid or has expired"}])
    user.email_verified_at = now
    await _record_for_user(session, user, Action.email_verified, {}, "")
    await session.commit()
    return user


def _reset_state(user: User) -> str:
    return state_of("reset", user.email, user.password_hash)


async def request_password_reset(session: AsyncSession, security: Security, email: str) -> None:
    """Mail a reset link if an active account has this email; say nothing either way."""
    email = email.lower()
    allowed = await security.limiter.hit(
        f"reset-mail:{email}", _RESET_MAILS_PER_HOUR, timedelta(hours=1)
    )
    user = await session.scalar(select(User).where(User.email == email))
    if user is None or not user.is_active or not allowed.allowed:
        return
    settings = security.settings
    token = issue_action_token(
        settings,
        Purpose.reset_password,
        user_id=user.id,
        email=user.email,
        state=_reset_state(user),
        now=security.now(),
        ttl=settings.password_reset_ttl,
    )
    minutes = int(settings.password_reset_ttl.total_seconds() // 60)
    await security.send_later(
        render(
            to=user.email,
            subject="Reset your Failcast password",
            intro="Someone asked to reset the password of your Failcast account.",
            action="Choose a new password",
            link=link(settings, f"/api/v1/password/reset?token={token}"),
            outro=f"The link works once and expires in {minutes} minutes. If you did not ask "
            "for this, ignore this message: your password stays as it is.",
        )
    )


async def user_for_reset(session: AsyncSession, security: Security, token: str) -> User:
    """The account a reset token is good for, or a 422 saying the link is unusable."""
    claims = decode_action_token(
        security.settings, token, Purpose.reset_password, now=security.now()
    )
    user = await session.get(User, claims.user_id)
    if user is None or not user.is_active or claims.state != _reset_state(user):
        raise ValidationFailed([{"field": "token", "msg": "this link is invalid or has expired"}])
    return user


async def reset_password(
    session: AsyncSession, security: Security, passwords: Passwords, token: str, password: str
) -> User:
    """Set a new password from a mailed link; every session of the account ends."""
    user = await user_for_reset(session, security, token)
    check_password(password, user.email)
    now = security.now()
    user.password_hash = await passwords.hash(password)
    user.failed_logins, user.locked_until = 0, None
    # Following the mailed link proves the address is theirs.
    user.email_verified_at = user.email_verified_at or now
    await sessions.revoke_all(session, user.id, "password reset", now)
    await _record_for_user(session, user, Action.password_reset, {}, "")
    await session.commit()
    return user


async def change_password(
    session: AsyncSession,
    security: Security,
    passwords: Passwords,
    principal: Principal,
    *,
    current: str,
    new: str,
) -> None:
    """Replace the password; the user's other sessions end, this one stays."""
    assert principal.user_id is not None
    user = await session.get_one(User, principal.user_id)
    if not await passwords.verify(user.password_hash, current):
        raise ValidationFailed([{"field": "current_password", "msg": "is not your password"}])
    check_password(new, user.email, "new_password")
    user.password_hash = await passwords.hash(new)
    await sessions.revoke_all(
        session, user.id, "password changed", security.now(), keep=principal.session_id
    )
    await _record_for_user(session, user, Action.password_changed, {}, principal.ip)
    await session.commit()


async def oidc_login(
    session: AsyncSession,
    security: Security,
    identity: Identity,
    *,
    org_name: str | None,
    org_id: int | None,
    ip: str,
    user_agent: str,
) -> Issued:
    """Sign in with a verified identity, linking or creating the account by email."""
    now = security.now()
    linked = await session.scalar(
        select(UserIdentity).where(
            UserIdentity.provider == identity.provider, UserIdentity.subject == identity.subject
        )
    )
    if linked is not None:
        user = await session.get_one(User, linked.user_id)
    else:
        found = await session.scalar(select(User).where(User.email == identity.email))
        if found is None:
            user = User(email=identity.email, name=identity.name, email_verified_at=now)
            session.add(user)
            local = identity.email.split("@", 1)[0]
            org = await create_org(session, org_name or f"{local}'s organisation")
            await session.flush()
            session.add(Membership(user_id=user.id, org_id=org.id, role=Role.owner.value))
            audit.record(session, org.id, user, Action.org_created, f"org:{org.id}", ip=ip)
        else:
            user = found
            if user.email_verified_at is None:
                # Whoever registered this address with a password never proved they own it;
                # the provider just proved someone else does. Drop the unproven password and
                # its sessions so a squatter cannot share the account.
                user.password_hash = None
                await sessions.revoke_all(session, user.id, "email proven elsewhere", now)
                user.email_verified_at = now
        await session.flush()
        linked = UserIdentity(
            user_id=user.id,
            provider=identity.provider,
            subject=identity.subject,
            email=identity.email,
        )
        session.add(linked)
        await _record_for_user(
            session, user, Action.identity_linked, {"provider": identity.provider}, ip
        )
    if not user.is_active:
        raise Unauthorized("this account is disabled")
    linked.last_login_at = now
    user.last_login_at = now
    chosen = await choose_org(session, user.id, org_id)
    issued = await sessions.start(
        session,
        security.settings,
        user_id=user.id,
        org_id=chosen,
        now=now,
        ip=ip,
        user_agent=user_agent,
        method=f"oidc:{identity.provider}",
    )
    audit.record(
        session,
        chosen,
        user,
        Action.login,
        f"session:{issued.session_id}",
        {"method": f"oidc:{identity.provider}"},
        ip=ip,
    )
    await session.commit()
    return issued


async def create_api_key(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    scopes: list[Scope],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= datetime.now(UTC):
            raise ValidationFailed([{"field": "expires_at", "msg": "must be in the future"}])
    new = api_keys.generate()
    key = ApiKey(
        org_id=principal.org_id,
        created_by=principal.user_id,
        name=name,
        prefix=new.prefix,
        key_hash=new.key_hash,
        scopes=sorted({scope.value for scope in scopes}),
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    audit.record(
        session,
        principal.org_id,
        principal,
        Action.key_created,
        f"api_key:{key.id}",
        {"name": name, "prefix": new.prefix, "scopes": key.scopes},
    )
    await session.commit()
    return key, new.token


async def list_api_keys(session: AsyncSession, org_id: int) -> list[ApiKey]:
    rows = await session.scalars(select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.id))
    return list(rows)


async def revoke_api_key(session: AsyncSession, principal: Principal, key_id: int) -> ApiKey:
    key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.org_id == principal.org_id)
    )
    if key is None:
        raise NotFound("API key not found")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        audit.record(
            session,
            principal.org_id,
            principal,
            Action.key_revoked,
            f"api_key:{key.id}",
            {"name": key.name, "prefix": key.prefix},
        )
        await session.commit()
    return key
