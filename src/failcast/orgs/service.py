"""Team rules: creating and switching orgs, members and roles, ownership, invitations and the
audit trail. An org never loses its last owner."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit, recovery, sessions
from failcast.auth import service as accounts
from failcast.auth.audit import Action
from failcast.auth.mailer import render
from failcast.auth.passwords import Passwords
from failcast.auth.principal import Principal
from failcast.auth.security import Security
from failcast.auth.sessions import Issued
from failcast.auth.tokens import hash_opaque, new_opaque_token
from failcast.db.cursors import row_id
from failcast.errors import Conflict, Forbidden, NotFound, ValidationFailed
from failcast.models import AuditEvent, Invitation, Membership, Organization, Role, User
from failcast.orgs.schemas import InvitationStatus

INVITATION_MARK = "fci_"
MAX_AUDIT_PAGE = 500


def _user_id(principal: Principal) -> int:
    if principal.user_id is None:
        raise Forbidden("this action needs a signed-in user, not an API key")
    return principal.user_id


async def create_org(session: AsyncSession, principal: Principal, name: str) -> Organization:
    """Another org for the signed-in user, who owns it."""
    user_id = _user_id(principal)
    org = await accounts.create_org(session, name)
    session.add(Membership(user_id=user_id, org_id=org.id, role=Role.owner.value))
    audit.record(session, org.id, principal, Action.org_created, f"org:{org.id}", {"name": name})
    await session.commit()
    return org


async def get_org(session: AsyncSession, org_id: int) -> Organization:
    return await session.get_one(Organization, org_id)


async def rename_org(session: AsyncSession, principal: Principal, name: str) -> Organization:
    org = await session.get_one(Organization, principal.org_id)
    audit.record(
        session, org.id, principal, Action.org_updated, f"org:{org.id}", {"name": [org.name, name]}
    )
    org.name = name
    await session.commit()
    return org


async def _membership(session: AsyncSession, org_id: int, user_id: int) -> Membership | None:
    return await session.scalar(
        select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    )


async def switch(
    session: AsyncSession, security: Security, principal: Principal, org_id: int
) -> Issued:
    """New tokens for the caller's session, acting in `org_id`."""
    user_id = _user_id(principal)
    if principal.session_id is None or await _membership(session, org_id, user_id) is None:
        raise NotFound("organisation not found")
    return await sessions.switch_org(
        session, security.settings, principal.session_id, org_id, security.now()
    )


async def list_members(session: AsyncSession, org_id: int) -> list[tuple[Membership, User]]:
    rows = await session.execute(
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(Membership.org_id == org_id)
        .order_by(Membership.id)
    )
    return [(row[0], row[1]) for row in rows]


async def _member(session: AsyncSession, org_id: int, user_id: int) -> Membership:
    membership = await _membership(session, org_id, user_id)
    if membership is None:
        raise NotFound("member not found")
    return membership


async def _owners(session: AsyncSession, org_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.org_id == org_id, Membership.role == Role.owner.value)
    )
    return int(count or 0)


def _guard_owner_changes(principal: Principal, current: Role, new: Role | None) -> None:
    if (current is Role.owner or new is Role.owner) and principal.role is not Role.owner:
        raise Forbidden("only an owner can grant, change or remove the owner role")


async def change_role(
    session: AsyncSession, principal: Principal, user_id: int, role: Role
) -> tuple[Membership, User]:
    membership = await _member(session, principal.org_id, user_id)
    current = Role(membership.role)
    _guard_owner_changes(principal, current, role)
    if (
        current is Role.owner
        and role is not Role.owner
        and await _owners(session, principal.org_id) <= 1
    ):
        raise Conflict("an organisation needs at least one owner; transfer ownership first")
    if current is not role:
        membership.role = role.value
        audit.record(
            session,
            principal.org_id,
            principal,
            Action.role_changed,
            f"user:{user_id}",
            {"from": current.value, "to": role.value},
        )
        await session.commit()
    return membership, await session.get_one(User, user_id)


async def remove_member(session: AsyncSession, principal: Principal, user_id: int) -> None:
    membership = await _member(session, principal.org_id, user_id)
    current = Role(membership.role)
    _guard_owner_changes(principal, current, None)
    if current is Role.owner and await _owners(session, principal.org_id) <= 1:
        raise Conflict("an organisation needs at least one owner; transfer ownership first")
    await session.delete(membership)
    audit.record(
        session,
        principal.org_id,
        principal,
        Action.member_removed,
        f"user:{user_id}",
        {"role": current.value},
    )
    await session.commit()


async def transfer_ownership(
    session: AsyncSession, principal: Principal, org_id: int, user_id: int
) -> None:
    """Make `user_id` the owner; the caller, an owner, becomes an admin."""
    caller = _user_id(principal)
    if org_id != principal.org_id:
        raise NotFound("organisation not found")
    if user_id == caller:
        raise ValidationFailed([{"field": "user_id", "msg": "you already own this organisation"}])
    target = await _member(session, org_id, user_id)
    mine = await _member(session, org_id, caller)
    target.role = Role.owner.value
    mine.role = Role.admin.value
    audit.record(
        session,
        org_id,
        principal,
        Action.ownership_transferred,
        f"user:{user_id}",
        {"previous_owner": caller},
    )
    await session.commit()


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
    user_id = _user_id(principal)
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
    await session.commit()
    days = max(1, int(security.settings.invitation_ttl.total_seconds() // 86400))
    await security.send_later(
        render(
            to=email,
            subject=f"{inviter.name or inviter.email} invited you to {org.name} on Failcast",
            intro=f"{inviter.name or inviter.email} invited you to join {org.name} on Failcast "
            f"as {role.value}.",
            action="See the invitation",
            link=recovery.link(security.settings, f"/api/v1/invitations/{token}"),
            outro=f"The invitation expires in {days} days. If you do not know this "
            "organisation, ignore this message.",
        )
    )
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
    await session.commit()
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
    if await _membership(session, invitation.org_id, user.id) is None:
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
    user = await session.get_one(User, _user_id(principal))
    if user.email != invitation.email:
        raise Forbidden("this invitation is for another email address")
    await _join(session, invitation, user, now)
    await session.commit()
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
    await session.commit()


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


def _aware(moment: datetime | None) -> datetime | None:
    # A time without a zone in a query string is read as UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def audit_page(
    session: AsyncSession,
    org_id: int,
    *,
    action: str | None,
    actor_user_id: int | None,
    target: str | None,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[AuditEvent], str | None]:
    """A page of the org's audit events, newest first, continuing after `cursor`."""
    since, until = _aware(since), _aware(until)
    query = select(AuditEvent).where(AuditEvent.org_id == org_id)
    if action:
        # "auth." matches every auth action; a full name matches itself.
        query = query.where(
            AuditEvent.action.startswith(action, autoescape=True)
            if action.endswith(".")
            else AuditEvent.action == action
        )
    if actor_user_id is not None:
        query = query.where(AuditEvent.actor_user_id == actor_user_id)
    if target:
        query = query.where(AuditEvent.target == target)
    if since is not None:
        query = query.where(AuditEvent.created_at >= since)
    if until is not None:
        query = query.where(AuditEvent.created_at < until)
    if cursor:
        query = query.where(AuditEvent.id < row_id(cursor))
    rows = list(await session.scalars(query.order_by(AuditEvent.id.desc()).limit(limit + 1)))
    page = rows[:limit]
    return page, (str(page[-1].id) if len(rows) > limit else None)
