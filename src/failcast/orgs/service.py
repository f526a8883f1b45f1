"""Org rules: creating, renaming and switching orgs, members and roles, and ownership. An org
never loses its last owner. Invitations are in invitations.py, the audit trail in
audit_log.py."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import audit, sessions
from failcast.auth import service as accounts
from failcast.auth.audit import Action
from failcast.auth.principal import Principal
from failcast.auth.security import Security
from failcast.auth.sessions import Issued
from failcast.errors import Conflict, Forbidden, NotFound, ValidationFailed
from failcast.models import Membership, Organization, Role, User


def user_id_of(principal: Principal) -> int:
    if principal.user_id is None:
        raise Forbidden("this action needs a signed-in user, not an API key")
    return principal.user_id


async def create_org(session: AsyncSession, principal: Principal, name: str) -> Organization:
    """Another org for the signed-in user, who owns it."""
    user_id = user_id_of(principal)
    org = await accounts.create_org(session, name)
    session.add(Membership(user_id=user_id, org_id=org.id, role=Role.owner))
    audit.record(session, org.id, principal, Action.org_created, f"org:{org.id}", {"name": name})
    await session.flush()
    return org


async def get_org(session: AsyncSession, org_id: int) -> Organization:
    return await session.get_one(Organization, org_id)


async def rename_org(session: AsyncSession, principal: Principal, name: str) -> Organization:
    org = await session.get_one(Organization, principal.org_id)
    audit.record(
        session, org.id, principal, Action.org_updated, f"org:{org.id}", {"name": [org.name, name]}
    )
    org.name = name
    await session.flush()
    return org


async def membership_of(session: AsyncSession, org_id: int, user_id: int) -> Membership | None:
    return await session.scalar(
        select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
    )


async def switch(
    session: AsyncSession, security: Security, principal: Principal, org_id: int
) -> Issued:
    """New tokens for the caller's session, acting in `org_id`."""
    user_id = user_id_of(principal)
    if principal.session_id is None or await membership_of(session, org_id, user_id) is None:
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
    membership = await membership_of(session, org_id, user_id)
    if membership is None:
        raise NotFound("member not found")
    return membership


async def _owners(session: AsyncSession, org_id: int) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Membership)
        .where(Membership.org_id == org_id, Membership.role == Role.owner)
    )
    return int(count or 0)


def _guard_owner_changes(principal: Principal, current: Role, new: Role | None) -> None:
    if (current is Role.owner or new is Role.owner) and principal.role is not Role.owner:
        raise Forbidden("only an owner can grant, change or remove the owner role")


async def change_role(
    session: AsyncSession, principal: Principal, user_id: int, role: Role
) -> tuple[Membership, User]:
    membership = await _member(session, principal.org_id, user_id)
    current = membership.role
    _guard_owner_changes(principal, current, role)
    if (
        current is Role.owner
        and role is not Role.owner
        and await _owners(session, principal.org_id) <= 1
    ):
        raise Conflict("an organisation needs at least one owner; transfer ownership first")
    if current is not role:
        membership.role = role
        audit.record(
            session,
            principal.org_id,
            principal,
            Action.role_changed,
            f"user:{user_id}",
            {"from": current.value, "to": role.value},
        )
        await session.flush()
    return membership, await session.get_one(User, user_id)


async def remove_member(session: AsyncSession, principal: Principal, user_id: int) -> None:
    membership = await _member(session, principal.org_id, user_id)
    current = membership.role
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
    await session.flush()


async def transfer_ownership(
    session: AsyncSession, principal: Principal, org_id: int, user_id: int
) -> None:
    """Make `user_id` the owner; the caller, an owner, becomes an admin."""
    caller = user_id_of(principal)
    if org_id != principal.org_id:
        raise NotFound("organisation not found")
    if user_id == caller:
        raise ValidationFailed([{"field": "user_id", "msg": "you already own this organisation"}])
    target = await _member(session, org_id, user_id)
    mine = await _member(session, org_id, caller)
    target.role = Role.owner
    mine.role = Role.admin
    audit.record(
        session,
        org_id,
        principal,
        Action.ownership_transferred,
        f"user:{user_id}",
        {"previous_owner": caller},
    )
    await session.flush()
