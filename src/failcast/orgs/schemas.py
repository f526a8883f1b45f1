from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, EmailStr, Field

from failcast.auth.password_policy import MAX_LENGTH, MIN_LENGTH
from failcast.models.membership import Role


class OrgIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: Role
    joined_at: datetime


class RoleIn(BaseModel):
    role: Role


class TransferIn(BaseModel):
    user_id: int = Field(description="The member who becomes owner; the caller becomes admin.")


class InvitationStatus(StrEnum):
    pending = "pending"
    accepted = "accepted"
    declined = "declined"
    revoked = "revoked"
    expired = "expired"


class InvitationIn(BaseModel):
    email: EmailStr
    role: Role = Role.member


class InvitationOut(BaseModel):
    id: int
    email: str
    role: Role
    status: InvitationStatus
    invited_by: int | None
    created_at: datetime
    expires_at: datetime


class InvitationView(BaseModel):
    """What the holder of an invitation link may see before deciding."""

    org_name: str
    email: str
    role: Role
    invited_by: str
    expires_at: datetime


class InvitationTokenIn(BaseModel):
    token: str = Field(min_length=1, max_length=200)


class InvitationRegisterIn(InvitationTokenIn):
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    name: str = Field(default="", max_length=200)


class AuditEventOut(BaseModel):
    id: int
    created_at: datetime
    action: str
    actor: str
    actor_user_id: int | None
    actor_api_key_id: int | None
    target: str
    details: dict[str, Any]
    ip: str


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next, older page.")
