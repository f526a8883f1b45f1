"""Proving an address and getting back in: email verification links, password reset by email
(limited per address and hour), and changing a password."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import sessions
from failcast.auth.audit import Action
from failcast.auth.mailer import render
from failcast.auth.passwords import Passwords
from failcast.auth.principal import Principal
from failcast.auth.security import Security
from failcast.auth.service import check_password, record_for_user
from failcast.auth.tokens import Purpose, decode_action_token, issue_action_token, state_of
from failcast.config import Settings
from failcast.errors import ValidationFailed
from failcast.models import User

# At most this many reset emails per address per hour, so the form cannot flood a mailbox.
_RESET_MAILS_PER_HOUR = 3


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


def _action_token(
    security: Security, user: User, purpose: Purpose, state: str, ttl: timedelta
) -> str:
    """A signed link token for `user` to act for `purpose` within `ttl`."""
    return issue_action_token(
        security.settings,
        purpose,
        user_id=user.id,
        email=user.email,
        state=state,
        now=security.now(),
        ttl=ttl,
    )


async def send_verification(security: Security, user: User) -> None:
    """Mail a link that confirms the user owns their email address."""
    settings = security.settings
    state = state_of("verify", user.email, user.email_verified_at)
    ttl = settings.email_verification_ttl
    token = _action_token(security, user, Purpose.verify_email, state, ttl)
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
    await record_for_user(session, user, Action.email_verified, {}, "")
    await session.flush()
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
    ttl = settings.password_reset_ttl
    token = _action_token(security, user, Purpose.reset_password, _reset_state(user), ttl)
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
    await record_for_user(session, user, Action.password_reset, {}, "")
    await session.flush()
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
    await record_for_user(session, user, Action.password_changed, {}, principal.ip)
    await session.flush()
