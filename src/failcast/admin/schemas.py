from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AdminUserOut(BaseModel):
    id: int
    email: str
    name: str
    is_active: bool
    is_superuser: bool
    email_verified_at: datetime | None
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    orgs: int = Field(description="How many orgs the user belongs to.")


class AdminOrgOut(BaseModel):
    id: int
    name: str
    slug: str
    plan: str
    members: int
    created_at: datetime


class UserPage(BaseModel):
    users: list[AdminUserOut]
    next_cursor: str | None


class OrgPage(BaseModel):
    orgs: list[AdminOrgOut]
    next_cursor: str | None


class PlanIn(BaseModel):
    plan: str = Field(
        pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$", description="e.g. free, team, enterprise"
    )


class SystemStats(BaseModel):
    users: int
    active_users: int
    superusers: int
    orgs: int
    orgs_by_plan: dict[str, int]
    live_sessions: int
    active_api_keys: int
    services: int
    series: int
    logins_last_24h: int
    failed_logins_last_24h: int
