from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

TEAM_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,127}$"


class TeamMemberOut(BaseModel):
    user_id: int
    email: str
    name: str | None


class TeamOut(BaseModel):
    id: int
    name: str
    description: str
    channels: list[str] = Field(description="Notification channels that get the team's alerts.")
    services: list[str] = Field(description="The services the team owns.")
    members: list[TeamMemberOut]
    created_at: datetime
    updated_at: datetime


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, pattern=TEAM_PATTERN)
    description: str = Field(default="", max_length=1000)
    channels: list[str] = Field(default_factory=list, max_length=50)
    services: list[str] = Field(
        default_factory=list,
        max_length=1000,
        description="Services the team takes over (their `team` becomes the team's name).",
    )


class TeamPatch(BaseModel):
    """Fields left out stay as they are; `services` replaces the list of owned services."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128, pattern=TEAM_PATTERN)
    description: str | None = Field(default=None, max_length=1000)
    channels: list[str] | None = Field(default=None, max_length=50)
    services: list[str] | None = Field(default=None, max_length=1000)


class TeamSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    restrict_members_to_teams: bool = Field(
        description=(
            "Members and viewers see only the services of their teams and what is about them "
            "(alerts, health, SLOs, predictions, topology, exports, the live stream; not yet "
            "the query APIs); owners, admins and API keys see everything."
        )
    )
