from __future__ import annotations

from fastapi import APIRouter, Response, status

from failcast.auth import audit
from failcast.auth.principal import AsAdmin, CanRead
from failcast.deps import PathId, SessionDep
from failcast.kit.responses import errors
from failcast.teams import service
from failcast.teams.schemas import TeamIn, TeamOut, TeamPatch, TeamSettings

router = APIRouter(prefix="/api/v1", tags=["teams"])


@router.get("/teams", response_model=list[TeamOut], operation_id="list_teams")
async def list_teams(principal: CanRead, session: SessionDep) -> list[TeamOut]:
    """Every team of the org with its services, channels and members, by name."""
    return [
        await service.team_out(session, t)
        for t in await service.list_teams(session, principal.org_id)
    ]


@router.post(
    "/teams",
    response_model=TeamOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_team",
    responses=errors(409),
)
async def create_team(body: TeamIn, principal: AsAdmin, session: SessionDep) -> TeamOut:
    """Create a team; the services named take it as their team, and alerts about them go to
    the channels named."""
    team = await service.create_team(session, principal.org_id, body)
    audit.record(session, principal.org_id, principal, "team.created", team.name)
    await session.flush()
    return await service.team_out(session, team)


@router.get("/teams/{team_id}", response_model=TeamOut, operation_id="get_team")
async def get_team(team_id: PathId, principal: CanRead, session: SessionDep) -> TeamOut:
    """One team."""
    return await service.team_out(
        session, await service.get_team(session, principal.org_id, team_id)
    )


@router.patch(
    "/teams/{team_id}", response_model=TeamOut, operation_id="update_team", responses=errors(409)
)
async def update_team(
    team_id: PathId, body: TeamPatch, principal: AsAdmin, session: SessionDep
) -> TeamOut:
    """Rename a team (its services follow), or change its description, channels or services."""
    team = await service.get_team(session, principal.org_id, team_id)
    await service.update_team(session, team, body)
    audit.record(session, principal.org_id, principal, "team.updated", team.name)
    await session.flush()
    return await service.team_out(session, team)


@router.delete(
    "/teams/{team_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_team"
)
async def delete_team(team_id: PathId, principal: AsAdmin, session: SessionDep) -> Response:
    """Delete a team; its services are left without one."""
    team = await service.get_team(session, principal.org_id, team_id)
    await service.delete_team(session, team)
    audit.record(session, principal.org_id, principal, "team.deleted", team.name)
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.put(
    "/teams/{team_id}/members/{user_id}", response_model=TeamOut, operation_id="add_team_member"
)
async def add_team_member(
    team_id: PathId, user_id: PathId, principal: AsAdmin, session: SessionDep
) -> TeamOut:
    """Add a member of the org to the team."""
    team = await service.get_team(session, principal.org_id, team_id)
    await service.add_member(session, team, user_id)
    audit.record(
        session, principal.org_id, principal, "team.member_added", team.name, {"user_id": user_id}
    )
    await session.flush()
    return await service.team_out(session, team)


@router.delete(
    "/teams/{team_id}/members/{user_id}",
    response_model=TeamOut,
    operation_id="remove_team_member",
)
async def remove_team_member(
    team_id: PathId, user_id: PathId, principal: AsAdmin, session: SessionDep
) -> TeamOut:
    """Take a member out of the team."""
    team = await service.get_team(session, principal.org_id, team_id)
    await service.remove_member(session, team, user_id)
    audit.record(
        session, principal.org_id, principal, "team.member_removed", team.name, {"user_id": user_id}
    )
    await session.flush()
    return await service.team_out(session, team)


@router.get("/team-settings", response_model=TeamSettings, operation_id="get_team_settings")
async def get_team_settings(principal: CanRead, session: SessionDep) -> TeamSettings:
    """Whether members see only their teams' services."""
    return TeamSettings(
        restrict_members_to_teams=await service.restricted(session, principal.org_id)
    )


@router.put("/team-settings", response_model=TeamSettings, operation_id="update_team_settings")
async def update_team_settings(
    body: TeamSettings, principal: AsAdmin, session: SessionDep
) -> TeamSettings:
    """Restrict members and viewers to their teams' services and what is about them (see
    docs/teams.md), or lift the restriction."""
    await service.set_restricted(session, principal.org_id, body.restrict_members_to_teams)
    audit.record(
        session,
        principal.org_id,
        principal,
        "team.settings_updated",
        details={"restrict_members_to_teams": body.restrict_members_to_teams},
    )
    await session.flush()
    return body
