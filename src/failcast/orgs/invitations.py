"""Invitations: invite by email with a role, list and revoke them, and accept or decline one
(signing up on the way when the invitee has no account)."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit, recovery
from failcast.auth import service as accounts
from failcast.auth.audit import Action
from failcast.auth.mailer import render
from failcast.auth.passwords import Passwords
from failcast.auth.principal import Principal
from failcast.auth.security import Security
from failcast.auth.sessions import Issued
from failcast.auth.tokens import hash_opaque, new_opaque_token
from failcast.db.transactions import after_commit
from failcast.errors import Conflict, Forbidden, NotFound
from failcast.models import Invitation, Membership, Organization, Role, User
from failcast.orgs.schemas import InvitationStatus
from failcast.orgs.service import membership_of, user_id_of

INVITATION_MARK = "fci_"


def status_of(invitation: Invitation, now: datetime) -> InvitationStatus:
    if invitation.accepted_at is not None:
        return InvitationStatus.accepted
    if invitation.declined_at is not None:
        return InvitationStatus.declined
    if invitation.revoked_at is not None:
        return InvitationStatus.revoked
    if invitation.expires_at <= now:
        return InvitationStatus.expired
    return InvitationStatus.pending


async def invite(
    session: AsyncSession, security: Security, principal: Principal, email: str, role: Role
) -> Invitation:
    """Invite `email` to the caller's org with `role` and mail them the link."""
    user_id = user_id_of(principal)
    email = email.lower()
    if role is Role.owner and principal.role is not Role.owner:
        raise Forbidden("only an owner can invite another owner")
    member = await session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == principal.org_id, User.email == email)
    )
    if member is not None:
        raise Conflict("this person is already a member")
    now = security.now()
    # A new invitation replaces any earlier one still open for the same address.
    earlier = await session.scalars(
        select(Invitation).where(Invitation.org_id == principal.org_id, Invitation.email == email)
    )
    for old in earlier:
        if status_of(old, now) is InvitationStatus.pending:
            old.revoked_at = now
    token, token_hash = new_opaque_token(INVITATION_MARK)
    invitation = Invitation(
        org_id=principal.org_id,
        email=email,
        role=role.value,
        token_hash=token_hash,
        invited_by=user_id,
        created_at=now,
        expires_at=now + security.settings.invitation_ttl,
    )
    session.add(invitation)
    await session.flush()
    audit.record(
        session,
        principal.org_id,
        principal,
        Action.invitation_created,
        f"invitation:{invitation.id}",
        {"email": email, "role": role.value},
    )
    org = await session.get_one(Organization, principal.org_id)
    inviter = await session.get_one(User, user_id)
    await session.flush()
    days = max(1, int(security.settings.invitation_ttl.total_seconds() // 86400))
    # The mail links to the invitation: send it once the invitation is committed.
    message = render(
        to=email,
        subject=f"{inviter.name or inviter.email} invited you to {org.name} on Failcast",
        intro=f"{inviter.name or inviter.email} invited you to join {org.name} on Failcast "
        f"as {role.value}.",
        action="See the invitation",
        link=recovery.link(security.settings, f"/api/v1/invitations/{token}"),
        outro=f"The invitation expires in {days} days. If you do not know this "
        "organisation, ignore this message.",
    )
    after_commit(session, partial(security.send_later, message))
    return invitation


async def list_invitations(session: AsyncSession, org_id: int) -> list[Invitation]:
    rows = await session.scalars(
        select(Invitation).where(Invitation.org_id == org_id).order_by(Invitation.id.desc())
    )
    return list(rows)


async def revoke_invitation(
    session: AsyncSession, principal: Principal, invitation_id: int, now: datetime
) -> Invitation:
    invitation = await session.scalar(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.org_id == principal.org_id
        )
    )
    if invitation is None:
        raise NotFound("invitation not found")
    if status_of(invitation, now) is not InvitationStatus.pending:
        raise Conflict("this invitation is no longer pending")
    invitation.revoked_at = now
    audit.record(
        session,
        principal.org_id,
        principal,
        Action.invitation_revoked,
        f"invitation:{invitation.id}",
        {"email": invitation.email},
    )
    await session.flush()
    return invitation


async def pending_invitation(
    session: AsyncSession, token: str, now: datetime
) -> tuple[Invitation, Organization]:
    """The open invitation a token stands for; used, revoked or expired ones answer 404."""
    invitation = await session.scalar(
        select(Invitation).where(Invitation.token_hash == hash_opaque(token))
    )
    if invitation is None or status_of(invitation, now) is not InvitationStatus.pending:
        raise NotFound("invitation not found or no longer valid")
    return invitation, await session.get_one(Organization, invitation.org_id)


async def inviter_name(session: AsyncSession, invitation: Invitation) -> str:
    if invitation.invited_by is None:
        return ""
    inviter = await session.get(User, invitation.invited_by)
    return (inviter.name or inviter.email) if inviter else ""


async def _join(session: AsyncSession, invitation: Invitation, user: User, now: datetime) -> None:
    if await membership_of(session, invitation.org_id, user.id) is None:
        session.add(Membership(user_id=user.id, org_id=invitation.org_id, role=invitation.role))
        audit.record(
            session,
            invitation.org_id,
            user,
            Action.member_added,
            f"user:{user.id}",
            {"role": invitation.role, "invitation": invitation.id},
        )
    invitation.accepted_at = now
    # The invitation reached this address, so the person owns it.
    user.email_verified_at = user.email_verified_at or now
    audit.record(
        session, invitation.org_id, user, Action.invitation_accepted, f"invitation:{invitation.id}"
    )


async def accept(
    session: AsyncSession, principal: Principal, token: str, now: datetime
) -> Organization:
    """Join the org of an invitation addressed to the signed-in user's email."""
    invitation, org = await pending_invitation(session, token, now)
    user = await session.get_one(User, user_id_of(principal))
    if user.email != invitation.email:
        raise Forbidden("this invitation is for another email address")
    await _join(session, invitation, user, now)
    await session.flush()
    return org


async def decline(session: AsyncSession, token: str, now: datetime) -> None:
    invitation, _ = await pending_invitation(session, token, now)
    invitation.declined_at = now
    audit.record(
        session,
        invitation.org_id,
        invitation.email,
        Action.invitation_declined,
        f"invitation:{invitation.id}",
    )
    await session.flush()


async def register_invited(
    session: AsyncSession,
    security: Security,
    passwords: Passwords,
    *,
    token: str,
    password: str,
    name: str,
    ip: str,
    user_agent: str,
) -> Issued:
    """Create the account an invitation was sent to, join the org and sign in."""
    now = security.now()
    invitation, _ = await pending_invitation(session, token, now)
    if await session.scalar(select(User.id).where(User.email == invitation.email)):
        raise Conflict("an account with this email already exists; sign in to accept")
    accounts.check_password(password, invitation.email)
    user = User(email=invitation.email, name=name, password_hash=await passwords.hash(password))
    session.add(user)
    await session.flush()
    await _join(session, invitation, user, now)
    await session.flush()
    return await accounts.start_session(
        session,
        security,
        user,
        invitation.org_id,
        ip=ip,
        user_agent=user_agent,
        method="invitation",
    )
