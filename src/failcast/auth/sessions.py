"""Sign-in sessions: short-lived access tokens plus refresh tokens that rotate on every use.

A session is a token family. Presenting a refresh token that was already rotated means two
parties hold the family (a stolen token, or a replay), so the whole session is revoked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit
from failcast.auth.audit import Action
from failcast.auth.tokens import hash_opaque, issue_access_token, new_opaque_token
from failcast.config import Settings
from failcast.db.transactions import keep_on_error
from failcast.errors import NotFound, Unauthorized
from failcast.models import AuthSession, Membership, RefreshToken, User
from failcast.models.auth_session import new_session_key

# Rotated tokens are kept while their session lives (to spot reuse), and this long after.
_KEEP_AFTER_END = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Issued:
    """A fresh access and refresh token pair for one session."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: int
    org_id: int


async def _issue(
    db: AsyncSession, settings: Settings, auth_session: AuthSession, now: datetime
) -> Issued:
    token, token_hash = new_opaque_token()
    expires_at = min(now + settings.refresh_token_ttl, auth_session.expires_at)
    db.add(
        RefreshToken(
            session_id=auth_session.id, token_hash=token_hash, created_at=now, expires_at=expires_at
        )
    )
    access, ttl = issue_access_token(
        settings, auth_session.user_id, auth_session.org_id, auth_session.key
    )
    return Issued(
        access_token=access,
        expires_in=ttl,
        refresh_token=token,
        refresh_expires_in=int((expires_at - now).total_seconds()),
        session_id=auth_session.id,
        org_id=auth_session.org_id,
    )


async def start(
    db: AsyncSession,
    settings: Settings,
    *,
    user_id: int,
    org_id: int,
    now: datetime,
    ip: str,
    user_agent: str,
    method: str = "password",
) -> Issued:
    """Open a session and issue its first tokens; the caller commits."""
    auth_session = AuthSession(
        key=new_session_key(),
        user_id=user_id,
        org_id=org_id,
        ip=ip[:64],
        user_agent=user_agent[:400],
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + settings.session_max_age,
    )
    db.add(auth_session)
    await db.flush()
    return await _issue(db, settings, auth_session, now)


def _revoke(auth_session: AuthSession, reason: str, now: datetime) -> None:
    if auth_session.revoked_at is None:
        auth_session.revoked_at = now
        auth_session.revoked_reason = reason


async def _first_org(db: AsyncSession, user_id: int) -> int | None:
    return await db.scalar(
        select(Membership.org_id).where(Membership.user_id == user_id).order_by(Membership.id)
    )


async def rotate(
    db: AsyncSession,
    settings: Settings,
    token: str,
    *,
    now: datetime,
    ip: str,
    user_agent: str,
) -> Issued:
    """Exchange a refresh token for a new pair; the old one is spent."""
    row = (
        await db.execute(
            select(RefreshToken, AuthSession)
            .join(AuthSession, AuthSession.id == RefreshToken.session_id)
            .where(RefreshToken.token_hash == hash_opaque(token))
        )
    ).first()
    if row is None:
        raise Unauthorized("invalid refresh token")
    refresh, auth_session = row[0], row[1]
    if auth_session.revoked_at is not None:
        raise Unauthorized("session revoked")
    # Spend the token with a conditional update, so two concurrent uses cannot both win.
    spent = cast(
        CursorResult[Any],
        await db.execute(
            update(RefreshToken)
            .where(RefreshToken.id == refresh.id, RefreshToken.used_at.is_(None))
            .values(used_at=now)
        ),
    )
    if spent.rowcount != 1:
        _revoke(auth_session, "refresh token reused", now)
        audit.record(
            db,
            auth_session.org_id,
            None,
            Action.refresh_reuse,
            f"session:{auth_session.id}",
            {"user_id": auth_session.user_id},
            ip=ip,
        )
        keep_on_error(db)
        raise Unauthorized("refresh token reused; the session has been revoked")
    if refresh.expires_at <= now or auth_session.expires_at <= now:
        keep_on_error(db)  # the token stays spent
        raise Unauthorized("session expired")
    user = await db.get_one(User, auth_session.user_id)
    if not user.is_active:
        keep_on_error(db)
        raise Unauthorized("invalid refresh token")
    member = await db.scalar(
        select(Membership.id).where(
            Membership.user_id == user.id, Membership.org_id == auth_session.org_id
        )
    )
    if member is None:
        # Removed from the org the session acted in: carry on in another one, if any.
        other = await _first_org(db, user.id)
        if other is None:
            _revoke(auth_session, "no organisation left", now)
            keep_on_error(db)
            raise Unauthorized("invalid refresh token")
        auth_session.org_id = other
    auth_session.last_seen_at = now
    auth_session.ip = ip[:64]
    auth_session.user_agent = user_agent[:400]
    issued = await _issue(db, settings, auth_session, now)
    await db.flush()
    return issued


async def switch_org(
    db: AsyncSession, settings: Settings, session_id: int, org_id: int, now: datetime
) -> Issued:
    """Point a session at another org (the caller checked membership) and issue new tokens.

    The session's earlier refresh tokens are spent, so only the new pair acts from now on.
    """
    auth_session = await db.get_one(AuthSession, session_id)
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.session_id == session_id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    auth_session.org_id = org_id
    auth_session.last_seen_at = now
    issued = await _issue(db, settings, auth_session, now)
    await db.flush()
    return issued


async def get_own(db: AsyncSession, user_id: int, session_id: int) -> AuthSession:
    auth_session = await db.scalar(
        select(AuthSession).where(AuthSession.id == session_id, AuthSession.user_id == user_id)
    )
    if auth_session is None:
        raise NotFound("session not found")
    return auth_session


async def revoke(
    db: AsyncSession, user_id: int, session_id: int, reason: str, now: datetime
) -> AuthSession:
    """Revoke one of the user's sessions; another user's id answers 404."""
    auth_session = await get_own(db, user_id, session_id)
    _revoke(auth_session, reason, now)
    return auth_session


async def revoke_all(
    db: AsyncSession, user_id: int, reason: str, now: datetime, *, keep: int | None = None
) -> int:
    """Revoke every live session of a user except `keep`; returns how many."""
    condition = [AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None)]
    if keep is not None:
        condition.append(AuthSession.id != keep)
    result = cast(
        CursorResult[Any],
        await db.execute(
            update(AuthSession).where(*condition).values(revoked_at=now, revoked_reason=reason)
        ),
    )
    return result.rowcount


async def list_active(db: AsyncSession, user_id: int, now: datetime) -> list[AuthSession]:
    rows = await db.scalars(
        select(AuthSession)
        .where(
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > now,
        )
        .order_by(AuthSession.last_seen_at.desc(), AuthSession.id.desc())
    )
    return list(rows)


async def prune(db: AsyncSession, now: datetime) -> int:
    """Delete sessions (and their tokens) that ended more than a week ago."""
    horizon = now - _KEEP_AFTER_END
    result = cast(
        CursorResult[Any],
        await db.execute(
            delete(AuthSession).where(
                or_(AuthSession.revoked_at < horizon, AuthSession.expires_at < horizon)
            )
        ),
    )
    await db.flush()
    return result.rowcount
