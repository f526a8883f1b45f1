"""Teams and what they change: which services a team owns (the services whose `team` is its
name), which channels its alerts go to, and what a member may see when the org restricts
members to their teams' services."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from failcast.auth.principal import Principal
from failcast.db.base import utcnow
from failcast.errors import Conflict, NotFound, ValidationFailed
from failcast.models import (
    Membership,
    NotificationChannel,
    Organization,
    Role,
    Service,
    Team,
    TeamMember,
    User,
)
from failcast.teams.schemas import TeamIn, TeamMemberOut, TeamOut, TeamPatch

# Roles that always see the whole org.
_UNRESTRICTED = (Role.owner, Role.admin)


async def get_team(session: AsyncSession, org_id: int, team_id: int) -> Team:
    team = await session.scalar(select(Team).where(Team.id == team_id, Team.org_id == org_id))
    if team is None:
        raise NotFound("team not found")
    return team


async def list_teams(session: AsyncSession, org_id: int) -> list[Team]:
    return list(
        await session.scalars(select(Team).where(Team.org_id == org_id).order_by(Team.name))
    )


async def team_out(session: AsyncSession, team: Team) -> TeamOut:
    services = await session.scalars(
        select(Service.name)
        .where(Service.org_id == team.org_id, Service.team == team.name)
        .order_by(Service.name)
    )
    members = await session.execute(
        select(User.id, User.email, User.name)
        .join(TeamMember, TeamMember.user_id == User.id)
        .where(TeamMember.team_id == team.id)
        .order_by(User.email)
    )
    return TeamOut(
        id=team.id,
        name=team.name,
        description=team.description,
        channels=list(team.channels),
        services=list(services),
        members=[TeamMemberOut(user_id=i, email=e, name=n) for i, e, n in members],
        created_at=team.created_at,
        updated_at=team.updated_at,
    )


def _require_known(field: str, names: Sequence[str], known: Collection[str], what: str) -> None:
    """A 422 naming each of `names` that is not among `known`."""
    problems = [
        {"field": f"{field}.{i}", "msg": f"no {what} named {name!r}"}
        for i, name in enumerate(names)
        if name not in known
    ]
    if problems:
        raise ValidationFailed(problems)


async def _check_channels(session: AsyncSession, org_id: int, names: Sequence[str]) -> None:
    known = set(
        await session.scalars(
            select(NotificationChannel.name).where(NotificationChannel.org_id == org_id)
        )
    )
    _require_known("channels", names, known, "notification channel")


async def _take_services(
    session: AsyncSession, org_id: int, team_name: str, names: Sequence[str]
) -> None:
    """Make the team own exactly `names` (the services it gives up become unowned)."""
    rows = {
        s.name: s for s in await session.scalars(select(Service).where(Service.org_id == org_id))
    }
    _require_known("services", names, rows, "service")
    wanted = set(names)
    for service in rows.values():
        if service.name in wanted:
            service.team = team_name
        elif service.team == team_name:
            service.team = None


async def _name_free(session: AsyncSession, org_id: int, name: str, team_id: int = 0) -> None:
    taken = await session.scalar(
        select(Team.id).where(Team.org_id == org_id, Team.name == name, Team.id != team_id)
    )
    if taken is not None:
        raise Conflict(f"a team named {name!r} already exists")


async def create_team(session: AsyncSession, org_id: int, body: TeamIn) -> Team:
    await _name_free(session, org_id, body.name)
    await _check_channels(session, org_id, body.channels)
    team = Team(org_id=org_id, name=body.name, description=body.description, channels=body.channels)
    session.add(team)
    await _take_services(session, org_id, body.name, body.services)
    await session.flush()
    return team


async def update_team(session: AsyncSession, team: Team, body: TeamPatch) -> None:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("name") is not None and changes["name"] != team.name:
        await _name_free(session, team.org_id, changes["name"], team.id)
        # The services a team owns name it: a renamed team keeps them.
        await session.execute(
            update(Service)
            .where(Service.org_id == team.org_id, Service.team == team.name)
            .values(team=changes["name"])
        )
        team.name = changes["name"]
    if changes.get("description") is not None:
        team.description = changes["description"]
    if changes.get("channels") is not None:
        await _check_channels(session, team.org_id, changes["channels"])
        team.channels = list(changes["channels"])
    if changes.get("services") is not None:
        await _take_services(session, team.org_id, team.name, changes["services"])
    team.updated_at = utcnow()


async def delete_team(session: AsyncSession, team: Team) -> None:
    """Delete the team; its services become unowned."""
    await session.execute(
        update(Service)
        .where(Service.org_id == team.org_id, Service.team == team.name)
        .values(team=None)
    )
    await session.delete(team)


async def add_member(session: AsyncSession, team: Team, user_id: int) -> None:
    """Add a member of the org to the team (again is a no-op)."""
    member = await session.scalar(
        select(Membership.id).where(Membership.org_id == team.org_id, Membership.user_id == user_id)
    )
    if member is None:
        raise NotFound("no member of this organisation has that user id")
    present = await session.scalar(
        select(TeamMember.id).where(TeamMember.team_id == team.id, TeamMember.user_id == user_id)
    )
    if present is None:
        session.add(TeamMember(team_id=team.id, user_id=user_id))


async def remove_member(session: AsyncSession, team: Team, user_id: int) -> None:
    row = await session.scalar(
        select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id == user_id)
    )
    if row is None:
        raise NotFound("that user is not in this team")
    await session.delete(row)


async def restricted(session: AsyncSession, org_id: int) -> bool:
    value = await session.scalar(
        select(Organization.restrict_to_teams).where(Organization.id == org_id)
    )
    return bool(value)


async def set_restricted(session: AsyncSession, org_id: int, value: bool) -> None:
    await session.execute(
        update(Organization).where(Organization.id == org_id).values(restrict_to_teams=value)
    )


@dataclass(frozen=True, slots=True)
class Visibility:
    """The services of an org a caller may see: all of them (`names` is None), or those a
    restricted member's teams own, by name and by id."""

    names: frozenset[str] | None = None
    ids: frozenset[int] = frozenset()

    @property
    def everything(self) -> bool:
        return self.names is None

    def admits(self, service: str | None) -> bool:
        """Whether a thing of `service` (None: of no service) is visible."""
        return self.names is None or (service is not None and service in self.names)

    def admits_id(self, service_id: int | None) -> bool:
        """`admits`, for a thing that names its service by id."""
        return self.names is None or (service_id is not None and service_id in self.ids)

    def require(self, service: str | None, what: str) -> None:
        """NotFound, as for another org's thing, unless `service`'s things are visible."""
        if not self.admits(service):
            raise NotFound(f"{what} not found")

    def where(
        self, name: ColumnElement[str | None] | InstrumentedAttribute[str | None]
    ) -> ColumnElement[bool]:
        """A SQL condition on a service name column that holds for visible services only."""
        return true() if self.names is None else name.in_(sorted(self.names))

    def where_id(
        self, service_id: ColumnElement[int | None] | InstrumentedAttribute[int | None]
    ) -> ColumnElement[bool]:
        """`where`, on a service id column."""
        return true() if self.names is None else service_id.in_(sorted(self.ids))


EVERYTHING = Visibility()


async def visibility(session: AsyncSession, principal: Principal) -> Visibility:
    """What the caller may see: members and viewers of an org that restricts them see their
    teams' services only; owners, admins and API keys see the whole org."""
    if principal.user_id is None or principal.role in _UNRESTRICTED:
        return EVERYTHING
    if not await restricted(session, principal.org_id):
        return EVERYTHING
    teams = (
        select(Team.name)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(Team.org_id == principal.org_id, TeamMember.user_id == principal.user_id)
    )
    rows = (
        await session.execute(
            select(Service.id, Service.name).where(
                Service.org_id == principal.org_id, Service.team.in_(teams)
            )
        )
    ).all()
    return Visibility(frozenset(name for _, name in rows), frozenset(i for i, _ in rows))


async def require_visible(
    session: AsyncSession, principal: Principal, service: str | None, what: str
) -> Visibility:
    """The caller's visibility; NotFound, as for another org's thing, unless it admits
    `service`."""
    seen = await visibility(session, principal)
    seen.require(service, what)
    return seen


@dataclass(frozen=True, slots=True)
class Ownership:
    """Which team owns each service, and where each team's alerts go."""

    team_of: dict[str, str]
    channels_of: dict[str, tuple[str, ...]]

    @property
    def claimed(self) -> set[str]:
        """Channels some team receives on."""
        return {name for names in self.channels_of.values() for name in names}


async def ownership(session: AsyncSession, org_id: int) -> Ownership:
    teams = await list_teams(session, org_id)
    names = {t.name for t in teams}
    rows = await session.execute(
        select(Service.name, Service.team).where(Service.org_id == org_id, Service.team.in_(names))
    )
    return Ownership(
        team_of={service: str(team) for service, team in rows},
        channels_of={t.name: tuple(t.channels) for t in teams},
    )
