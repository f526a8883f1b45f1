"""The caller of a request, from a bearer JWT or an API key, and the role check on it.

Every endpoint depends on one of the aliases at the bottom. `require_role(Role.admin)` admits
people whose role in the org is at least admin, and API keys holding the matching scope
(viewer: read, member: write, admin: admin; owner actions are never open to keys).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import api_keys
from failcast.auth.api_keys import Scope
from failcast.auth.tokens import decode_access_token
from failcast.config import Settings
from failcast.db.transactions import release
from failcast.deps import SessionDep, SettingsDep, get_services
from failcast.errors import Forbidden, Unauthorized
from failcast.models import ApiKey, AuthSession, Membership, Role, User

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.owner: frozenset(Scope),
    Role.admin: frozenset(Scope),
    Role.member: frozenset({Scope.ingest, Scope.read, Scope.write}),
    Role.viewer: frozenset({Scope.read}),
}
ROLE_RANK: dict[Role, int] = {Role.viewer: 0, Role.member: 1, Role.admin: 2, Role.owner: 3}
# The scope an API key needs to pass for a role; None: no key may act with that role.
ROLE_KEY_SCOPE: dict[Role, Scope | None] = {
    Role.viewer: Scope.read,
    Role.member: Scope.write,
    Role.admin: Scope.admin,
    Role.owner: None,
}

# last_used_at / last_seen_at are written at most this often, so ingestion and dashboards do
# not write a row per request.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Principal:
    org_id: int
    scopes: frozenset[Scope]
    user_id: int | None = None
    role: Role | None = None
    api_key_id: int | None = None
    session_id: int | None = None
    is_superuser: bool = False
    # Who this is in the audit log: the user's email or the key's name and prefix.
    label: str = ""
    ip: str = ""

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    def has_role(self, role: Role) -> bool:
        """Whether this caller may act with `role` (see the module docstring for keys)."""
        if self.role is not None:
            return ROLE_RANK[self.role] >= ROLE_RANK[role]
        scope = ROLE_KEY_SCOPE[role]
        return self.user_id is None and scope is not None and self.allows(scope)


@dataclass(frozen=True, slots=True)
class Requirement:
    """What a dependency demands of the caller; read by tests that audit the route table."""

    role: Role | None = None
    scope: Scope | None = None
    people_only: bool = False
    superuser: bool = False

    def admits_key(self, scopes: frozenset[Scope]) -> bool:
        """Whether an API key with `scopes` passes."""
        if self.people_only or self.superuser:
            return False
        if self.role is not None:
            needed = ROLE_KEY_SCOPE[self.role]
            return needed is not None and needed in scopes
        return self.scope is None or self.scope in scopes


# Every authorising dependency and what it requires.
REQUIREMENTS: dict[Callable[..., Any], Requirement] = {}


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("x-api-key") or None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def client_agent(request: Request) -> str:
    return request.headers.get("user-agent", "")


def _now(request: Request) -> datetime:
    return get_services(request).security.clock()


async def _from_api_key(session: AsyncSession, token: str, now: datetime) -> Principal:
    parts = api_keys.split(token)
    if parts is None:
        raise Unauthorized("invalid API key")
    prefix, secret = parts
    # Columns rather than an ApiKey object: this runs on every ingest and query request.
    key = (
        await session.execute(
            select(
                ApiKey.id,
                ApiKey.org_id,
                ApiKey.name,
                ApiKey.prefix,
                ApiKey.key_hash,
                ApiKey.scopes,
                ApiKey.revoked_at,
                ApiKey.expires_at,
                ApiKey.last_used_at,
            ).where(ApiKey.prefix == prefix)
        )
    ).first()
    if key is None or not api_keys.matches(key.key_hash, secret):
        raise Unauthorized("invalid API key")
    if key.revoked_at is not None:
        raise Unauthorized("API key revoked")
    if key.expires_at is not None and key.expires_at <= now:
        raise Unauthorized("API key expired")
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        await session.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
        await release(session, "a read must not hold the write lock for its key's last use")
    return Principal(
        org_id=key.org_id,
        scopes=frozenset(Scope(s) for s in key.scopes),
        api_key_id=key.id,
        label=f"API key {key.name!r} (fc_{key.prefix})",
    )


async def _from_jwt(
    session: AsyncSession, settings: Settings, token: str, now: datetime
) -> Principal:
    claims = decode_access_token(settings, token)
    row = (
        await session.execute(
            select(
                User.is_active,
                User.is_superuser,
                User.email,
                Membership.role,
                AuthSession.id.label("session_id"),
                AuthSession.org_id.label("session_org_id"),
                AuthSession.revoked_at,
                AuthSession.expires_at,
                AuthSession.last_seen_at,
            )
            .join(Membership, Membership.user_id == User.id)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                User.id == claims.user_id,
                Membership.org_id == claims.org_id,
                AuthSession.key == claims.session_key,
            )
        )
    ).first()
    if row is None or not row.is_active:
        raise Unauthorized("invalid token")
    if row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("session revoked")
    # A token minted before the session switched orgs no longer speaks for it.
    if row.session_org_id != claims.org_id:
        raise Unauthorized("invalid token")
    if now - row.last_seen_at > _LAST_USED_RESOLUTION:
        await session.execute(
            update(AuthSession).where(AuthSession.id == row.session_id).values(last_seen_at=now)
        )
        await release(session, "a read must not hold the write lock for its session's last use")
    role = row.role
    return Principal(
        org_id=claims.org_id,
        scopes=ROLE_SCOPES[role],
        user_id=claims.user_id,
        role=role,
        session_id=row.session_id,
        is_superuser=row.is_superuser,
        label=row.email,
    )


async def principal_from_token(
    session: AsyncSession, settings: Settings, token: str, now: datetime | None = None
) -> Principal:
    """The caller a bearer token (access token or API key) stands for, or Unauthorized."""
    now = now or datetime.now(UTC)
    if token.startswith(api_keys.KEY_MARK):
        return await _from_api_key(session, token, now)
    return await _from_jwt(session, settings, token, now)


async def current_principal(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized()
    principal = await principal_from_token(session, settings, token, _now(request))
    principal = replace(principal, ip=client_ip(request))
    request.state.principal = principal
    return principal


def require(scope: Scope) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers holding `scope`."""

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"this action needs the '{scope.value}' scope")
        return principal

    REQUIREMENTS[dependency] = Requirement(scope=scope)
    return dependency


def require_role(role: Role, *, people_only: bool = False) -> Callable[..., Awaitable[Principal]]:
    """A dependency that admits callers acting with at least `role` in the org.

    `people_only` refuses API keys whatever their scopes (managing members is for people).
    """

    async def dependency(
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> Principal:
        if people_only and principal.user_id is None:
            raise Forbidden("this action needs a signed-in user, not an API key")
        if not principal.has_role(role):
            raise Forbidden(f"this action needs the {role.value} role")
        return principal

    REQUIREMENTS[dependency] = Requirement(role=role, people_only=people_only)
    return dependency


async def current_user(
    principal: Annotated[Principal, Depends(current_principal)],
) -> Principal:
    """Admit signed-in people only: API keys cannot manage accounts or keys."""
    if principal.user_id is None:
        raise Forbidden("this action needs a signed-in user, not an API key")
    return principal


async def platform_admin(principal: Annotated[Principal, Depends(current_user)]) -> Principal:
    """Admit the operators of this Failcast installation (superusers)."""
    if not principal.is_superuser:
        raise Forbidden("this action needs a platform administrator")
    return principal


REQUIREMENTS[current_user] = Requirement(people_only=True)
REQUIREMENTS[platform_admin] = Requirement(people_only=True, superuser=True)

CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentUser = Annotated[Principal, Depends(current_user)]
PlatformAdmin = Annotated[Principal, Depends(platform_admin)]
CanIngest = Annotated[Principal, Depends(require(Scope.ingest))]
# Roles, weakest first. CanRead/CanWrite/CanAdmin are the same checks under older names.
AsViewer = Annotated[Principal, Depends(require_role(Role.viewer))]
AsMember = Annotated[Principal, Depends(require_role(Role.member))]
AsAdmin = Annotated[Principal, Depends(require_role(Role.admin))]
AsOwner = Annotated[Principal, Depends(require_role(Role.owner))]
PersonAsAdmin = Annotated[Principal, Depends(require_role(Role.admin, people_only=True))]
CanRead = AsViewer
CanWrite = AsMember
CanAdmin = AsAdmin
