from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, EmailStr, Field, ValidationInfo, field_validator

from failcast.auth.api_keys import Scope
from failcast.auth.password_policy import MAX_LENGTH, MIN_LENGTH, problems
from failcast.models.membership import Role

MIN_PASSWORD_LENGTH = MIN_LENGTH


def _acceptable(password: str, email: object) -> str:
    found = problems(password, email if isinstance(email, str) else None)
    # Length has its own constraint on the field; report the other problems here.
    found = [p for p in found if "characters long" not in p]
    if found:
        raise ValueError("; ".join(found))
    return password


class RegisterIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)
    name: str = Field(default="", max_length=200)
    org_name: str = Field(min_length=1, max_length=200)

    @field_validator("password")
    @classmethod
    def _policy(cls, value: str, info: ValidationInfo) -> str:
        return _acceptable(value, info.data.get("email"))


class LoginIn(BaseModel):
    email: EmailStr
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    org_id: int | None = Field(default=None, description="Org to act in; the first one if absent.")


class OidcLoginIn(BaseModel):
    provider: str = Field(min_length=1, max_length=64, description="A configured provider name.")
    id_token: str = Field(min_length=1, max_length=16_384)
    org_id: int | None = Field(default=None, description="Org to act in; the first one if absent.")
    org_name: str | None = Field(
        default=None, max_length=200, description="Name of the org made for a new account."
    )


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Single use: trade it at /token/refresh for a new pair.")
    refresh_expires_in: int = Field(description="Seconds until the refresh token expires.")


class RefreshIn(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=200)


class OrgOut(BaseModel):
    id: int
    name: str
    slug: str
    plan: str
    role: Role


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_superuser: bool
    email_verified_at: datetime | None
    created_at: datetime


class ProfileOut(BaseModel):
    user: UserOut
    org: OrgOut
    orgs: list[OrgOut]


class RegisterOut(TokenOut):
    user: UserOut
    org: OrgOut


class SessionOut(BaseModel):
    id: int
    org_id: int
    method: str
    user_agent: str
    ip: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    current: bool = Field(description="Whether this is the session of the calling token.")


class RevokedOut(BaseModel):
    revoked: int = Field(description="How many sessions ended.")


class EmailIn(BaseModel):
    email: EmailStr


class AcceptedOut(BaseModel):
    detail: str


class VerifiedOut(BaseModel):
    email: str
    email_verified_at: datetime


class ResetCheckOut(BaseModel):
    email: str


class ResetIn(BaseModel):
    token: str = Field(min_length=1, max_length=4096)
    password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=MAX_LENGTH)
    new_password: str = Field(min_length=MIN_LENGTH, max_length=MAX_LENGTH)


class ApiKeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    scopes: list[Scope] = Field(default_factory=lambda: [Scope.ingest, Scope.read], min_length=1)
    expires_at: datetime | None = None


class ApiKeyOut(BaseModel):
    id: int
    name: str
    prefix: str = Field(
        description="The visible start of the key; the secret is never shown again."
    )
    scopes: list[Scope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The full key. Shown once; store it now.")
