from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from failcast.admin import service
from failcast.admin.schemas import (
    AdminOrgOut,
    AdminUserOut,
    OrgPage,
    PlanIn,
    SystemStats,
    UserPage,
)
from failcast.auth.principal import PlatformAdmin
from failcast.auth.security import SecurityDep
from failcast.deps import PathId, SessionDep
from failcast.kit.responses import errors
from failcast.models import Organization, User

router = APIRouter(prefix="/api/v1/admin", tags=["platform administration"])

Search = Annotated[str | None, Query(max_length=200, description="Part of a name or email.")]
Cursor = Annotated[str | None, Query(max_length=32)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _user_out(user: User, orgs: int) -> AdminUserOut:
    return AdminUserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        is_active=user.is_active,
        is_superuser=user.is_superuser,
        email_verified_at=user.email_verified_at,
        locked_until=user.locked_until,
        last_login_at=user.last_login_at,
        created_at=user.created_at,
        orgs=orgs,
    )


def _org_out(org: Organization, members: int) -> AdminOrgOut:
    return AdminOrgOut(
        id=org.id,
        name=org.name,
        slug=org.slug,
        plan=org.plan,
        members=members,
        created_at=org.created_at,
    )


@router.get("/users", response_model=UserPage, operation_id="admin_list_users")
async def list_users(
    principal: PlatformAdmin,
    session: SessionDep,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> UserPage:
    """Every account of the installation, searchable by email or name."""
    rows, next_cursor = await service.search_users(session, q, cursor, limit)
    return UserPage(users=[_user_out(u, n) for u, n in rows], next_cursor=next_cursor)


@router.post(
    "/users/{user_id}/disable",
    response_model=AdminUserOut,
    operation_id="admin_disable_user",
    responses=errors(409),
)
async def disable_user(
    user_id: PathId, principal: PlatformAdmin, session: SessionDep, security: SecurityDep
) -> AdminUserOut:
    """Disable an account: its sessions end and its tokens stop working at once."""
    user, orgs = await service.set_active(session, principal, user_id, False, security.now())
    return _user_out(user, orgs)


@router.post(
    "/users/{user_id}/enable",
    response_model=AdminUserOut,
    operation_id="admin_enable_user",
    responses=errors(409),
)
async def enable_user(
    user_id: PathId, principal: PlatformAdmin, session: SessionDep, security: SecurityDep
) -> AdminUserOut:
    """Let a disabled account sign in again."""
    user, orgs = await service.set_active(session, principal, user_id, True, security.now())
    return _user_out(user, orgs)


@router.get("/orgs", response_model=OrgPage, operation_id="admin_list_orgs")
async def list_orgs(
    principal: PlatformAdmin,
    session: SessionDep,
    q: Search = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> OrgPage:
    """Every org of the installation, searchable by name or slug."""
    rows, next_cursor = await service.search_orgs(session, q, cursor, limit)
    return OrgPage(orgs=[_org_out(o, n) for o, n in rows], next_cursor=next_cursor)


@router.patch("/orgs/{org_id}", response_model=AdminOrgOut, operation_id="admin_set_org_plan")
async def set_org_plan(
    org_id: PathId, body: PlanIn, principal: PlatformAdmin, session: SessionDep
) -> AdminOrgOut:
    """Move an org to another plan."""
    org, members = await service.set_plan(session, principal, org_id, body.plan)
    return _org_out(org, members)


@router.get("/stats", response_model=SystemStats, operation_id="admin_stats")
async def stats(
    principal: PlatformAdmin, session: SessionDep, security: SecurityDep
) -> SystemStats:
    """System-wide counts: people, orgs by plan, sessions, keys, services, sign-ins."""
    return SystemStats(**await service.stats(session, security.now()))
