"""Sign-in through an identity provider (OpenID Connect): the provider's verified identity
becomes an account, linked by email to an existing one only when the provider vouches for it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit, sessions
from failcast.auth.audit import Action
from failcast.auth.oidc import Identity
from failcast.auth.security import Security
from failcast.auth.service import create_org, record_for_user, sign_in
from failcast.auth.sessions import Issued
from failcast.errors import Unauthorized
from failcast.models import Membership, Role, User, UserIdentity


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
            session.add(Membership(user_id=user.id, org_id=org.id, role=Role.owner))
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
        await record_for_user(
            session, user, Action.identity_linked, {"provider": identity.provider}, ip
        )
    if not user.is_active:
        raise Unauthorized("this account is disabled")
    linked.last_login_at = now
    user.last_login_at = now
    method = f"oidc:{identity.provider}"
    return await sign_in(
        session, security, user, org_id, now=now, ip=ip, user_agent=user_agent, method=method
    )
