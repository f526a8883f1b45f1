from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from failcast.auth.endpoints import org_out, token_out
from failcast.auth.principal import (
    AsAdmin,
    AsOwner,
    AsViewer,
    CurrentUser,
    PersonAsAdmin,
    client_agent,
    client_ip,
)
from failcast.auth.schemas import OrgOut, TokenOut
from failcast.auth.security import SecurityDep, rate_limited
from failcast.auth.service import memberships
from failcast.deps import PasswordsDep, PathId, SessionDep, SettingsDep, TopologyDep
from failcast.kit.responses import errors
from failcast.models import Invitation, Membership, Role, User
from failcast.orgs import audit_log, defaults, invitations, service
from failcast.orgs.schemas import (
    AuditEventOut,
    AuditPage,
    InvitationIn,
    InvitationOut,
    InvitationRegisterIn,
    InvitationTokenIn,
    InvitationView,
    MemberOut,
    OrgIn,
    RoleIn,
    TransferIn,
)

router = APIRouter(prefix="/api/v1", tags=["organisations"])


def _member_out(membership: Membership, user: User) -> MemberOut:
    return MemberOut(
        user_id=user.id,
        email=user.email,
        name=user.name,
        role=membership.role,
        joined_at=membership.created_at,
    )


def _invitation_out(invitation: Invitation, now: datetime) -> InvitationOut:
    return InvitationOut(
        id=invitation.id,
        email=invitation.email,
        role=invitation.role,
        status=invitations.status_of(invitation, now),
        invited_by=invitation.invited_by,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


@router.get("/orgs", response_model=list[OrgOut], operation_id="list_my_orgs")
async def list_my_orgs(principal: CurrentUser, session: SessionDep) -> list[OrgOut]:
    """Every org the signed-in user belongs to, with their role in each."""
    assert principal.user_id is not None
    return [org_out(o, r) for o, r in await memberships(session, principal.user_id)]


@router.post(
    "/orgs", response_model=OrgOut, status_code=status.HTTP_201_CREATED, operation_id="create_org"
)
async def create_org(body: OrgIn, principal: CurrentUser, session: SessionDep) -> OrgOut:
    """Create another org; the signed-in user owns it. Switch to it to act in it."""
    return org_out(await service.create_org(session, principal, body.name), Role.owner)


@router.get("/orgs/current", response_model=OrgOut, operation_id="get_current_org")
async def get_current_org(principal: AsViewer, session: SessionDep) -> OrgOut:
    """The org the caller acts in."""
    org = await service.get_org(session, principal.org_id)
    return org_out(org, principal.role or Role.viewer)


@router.patch("/orgs/current", response_model=OrgOut, operation_id="update_current_org")
async def update_current_org(body: OrgIn, principal: AsAdmin, session: SessionDep) -> OrgOut:
    """Rename the org (admins)."""
    org = await service.rename_org(session, principal, body.name)
    return org_out(org, principal.role or Role.admin)


@router.post(
    "/orgs/current/defaults",
    response_model=defaults.DefaultsApplied,
    operation_id="apply_org_defaults",
)
async def apply_org_defaults(
    principal: AsAdmin, session: SessionDep, settings: SettingsDep, topology: TopologyDep
) -> defaults.DefaultsApplied:
    """Add the default alert rules, SLOs for up to three front-door services and an email
    channel to the owners. What the org already has (by name) is kept as it is."""
    graph = await topology(session, principal.org_id)
    applied = await defaults.apply_org_defaults(
        session, principal.org_id, settings, graph.entry_points()
    )
    await session.flush()
    return applied


@router.post("/orgs/{org_id}/switch", response_model=TokenOut, operation_id="switch_org")
async def switch_org(
    org_id: PathId, principal: CurrentUser, session: SessionDep, security: SecurityDep
) -> TokenOut:
    """New tokens acting in another of the user's orgs; the session's old tokens stop working."""
    return token_out(await service.switch(session, security, principal, org_id))


@router.post(
    "/orgs/{org_id}/transfer-ownership",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="transfer_ownership",
    responses=errors(409),
)
async def transfer_ownership(
    org_id: PathId, body: TransferIn, principal: AsOwner, session: SessionDep
) -> Response:
    """Hand the org to another member (owners); the caller stays on as admin."""
    await service.transfer_ownership(session, principal, org_id, body.user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/orgs/current/members", response_model=list[MemberOut], operation_id="list_members")
async def list_members(principal: AsViewer, session: SessionDep) -> list[MemberOut]:
    """The people of the org and their roles."""
    return [_member_out(m, u) for m, u in await service.list_members(session, principal.org_id)]


@router.patch(
    "/orgs/current/members/{user_id}",
    response_model=MemberOut,
    operation_id="change_member_role",
    responses=errors(409),
)
async def change_member_role(
    user_id: PathId, body: RoleIn, principal: PersonAsAdmin, session: SessionDep
) -> MemberOut:
    """Change a member's role (admins; only owners touch the owner role). An org always keeps
    an owner."""
    membership, user = await service.change_role(session, principal, user_id, body.role)
    return _member_out(membership, user)


@router.delete(
    "/orgs/current/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="remove_member",
    responses=errors(409),
)
async def remove_member(user_id: PathId, principal: PersonAsAdmin, session: SessionDep) -> Response:
    """Remove someone from the org (admins); their tokens for it stop working at once."""
    await service.remove_member(session, principal, user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/orgs/current/invitations",
    response_model=InvitationOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_invitation",
    dependencies=[Depends(rate_limited("invite"))],
    responses=errors(409),
)
async def create_invitation(
    body: InvitationIn, principal: PersonAsAdmin, session: SessionDep, security: SecurityDep
) -> InvitationOut:
    """Invite someone by email with a role (admins); they get a link to accept or decline."""
    invitation = await invitations.invite(session, security, principal, body.email, body.role)
    return _invitation_out(invitation, security.now())


@router.get(
    "/orgs/current/invitations",
    response_model=list[InvitationOut],
    operation_id="list_invitations",
)
async def list_invitations(
    principal: PersonAsAdmin, session: SessionDep, security: SecurityDep
) -> list[InvitationOut]:
    """The org's invitations, newest first, with their status (admins)."""
    now = security.now()
    return [
        _invitation_out(i, now)
        for i in await invitations.list_invitations(session, principal.org_id)
    ]


@router.delete(
    "/orgs/current/invitations/{invitation_id}",
    response_model=InvitationOut,
    operation_id="revoke_invitation",
    responses=errors(409),
)
async def revoke_invitation(
    invitation_id: PathId, principal: PersonAsAdmin, session: SessionDep, security: SecurityDep
) -> InvitationOut:
    """Withdraw a pending invitation (admins); its link stops working."""
    now = security.now()
    return _invitation_out(
        await invitations.revoke_invitation(session, principal, invitation_id, now), now
    )


@router.get(
    "/invitations/{token}",
    response_model=InvitationView,
    operation_id="view_invitation",
    dependencies=[Depends(rate_limited("invitation"))],
)
async def view_invitation(token: str, session: SessionDep, security: SecurityDep) -> InvitationView:
    """What an invitation link offers: the target of the mailed link."""
    invitation, org = await invitations.pending_invitation(session, token, security.now())
    return InvitationView(
        org_name=org.name,
        email=invitation.email,
        role=invitation.role,
        invited_by=await invitations.inviter_name(session, invitation),
        expires_at=invitation.expires_at,
    )


@router.post(
    "/invitations/accept",
    response_model=OrgOut,
    operation_id="accept_invitation",
    dependencies=[Depends(rate_limited("invitation"))],
    responses=errors(404),
)
async def accept_invitation(
    body: InvitationTokenIn, principal: CurrentUser, session: SessionDep, security: SecurityDep
) -> OrgOut:
    """Join the org as the signed-in user, whose email must be the invited one."""
    org = await invitations.accept(session, principal, body.token, security.now())
    role = next(r for o, r in await memberships(session, principal.user_id or 0) if o.id == org.id)
    return org_out(org, role)


@router.post(
    "/invitations/decline",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="decline_invitation",
    dependencies=[Depends(rate_limited("invitation"))],
    responses=errors(404),
)
async def decline_invitation(
    body: InvitationTokenIn, session: SessionDep, security: SecurityDep
) -> Response:
    """Turn an invitation down; its link stops working."""
    await invitations.decline(session, body.token, security.now())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/invitations/register",
    response_model=TokenOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="register_with_invitation",
    dependencies=[Depends(rate_limited("register"))],
    responses=errors(404, 409),
)
async def register_with_invitation(
    body: InvitationRegisterIn,
    request: Request,
    session: SessionDep,
    security: SecurityDep,
    passwords: PasswordsDep,
) -> TokenOut:
    """Create the invited account, join the org and sign in, in one step."""
    issued = await invitations.register_invited(
        session,
        security,
        passwords,
        token=body.token,
        password=body.password,
        name=body.name,
        ip=client_ip(request),
        user_agent=client_agent(request),
    )
    return token_out(issued)


@router.get("/audit", response_model=AuditPage, operation_id="list_audit_events")
async def list_audit_events(
    principal: AsAdmin,
    session: SessionDep,
    action: Annotated[
        str | None, Query(max_length=64, description="An action, or a prefix ending in '.'.")
    ] = None,
    actor_user_id: int | None = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    limit: Annotated[int, Query(ge=1, le=audit_log.MAX_AUDIT_PAGE)] = 100,
) -> AuditPage:
    """The org's audit log, newest first (admins): sign-ins, failures, lockouts, role and key
    changes, exports and more."""
    events, next_cursor = await audit_log.audit_page(
        session,
        principal.org_id,
        action=action,
        actor_user_id=actor_user_id,
        target=target,
        since=since,
        until=until,
        cursor=cursor,
        limit=limit,
    )
    return AuditPage(
        events=[AuditEventOut.model_validate(e, from_attributes=True) for e in events],
        next_cursor=next_cursor,
    )
