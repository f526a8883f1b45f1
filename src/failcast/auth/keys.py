"""API key management: create (the secret shown once), list and revoke an org's keys."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.auth import api_keys, audit
from failcast.auth.api_keys import Scope
from failcast.auth.audit import Action
from failcast.auth.principal import Principal
from failcast.errors import NotFound, ValidationFailed
from failcast.models import ApiKey


async def create_api_key(
    session: AsyncSession,
    principal: Principal,
    *,
    name: str,
    scopes: list[Scope],
    expires_at: datetime | None,
) -> tuple[ApiKey, str]:
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= datetime.now(UTC):
            raise ValidationFailed([{"field": "expires_at", "msg": "must be in the future"}])
    new = api_keys.generate()
    key = ApiKey(
        org_id=principal.org_id,
        created_by=principal.user_id,
        name=name,
        prefix=new.prefix,
        key_hash=new.key_hash,
        scopes=sorted({scope.value for scope in scopes}),
        expires_at=expires_at,
    )
    session.add(key)
    await session.flush()
    audit.record(
        session,
        principal.org_id,
        principal,
        Action.key_created,
        f"api_key:{key.id}",
        {"name": name, "prefix": new.prefix, "scopes": key.scopes},
    )
    await session.flush()
    return key, new.token


async def list_api_keys(session: AsyncSession, org_id: int) -> list[ApiKey]:
    rows = await session.scalars(select(ApiKey).where(ApiKey.org_id == org_id).order_by(ApiKey.id))
    return list(rows)


async def revoke_api_key(session: AsyncSession, principal: Principal, key_id: int) -> ApiKey:
    key = await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.org_id == principal.org_id)
    )
    if key is None:
        raise NotFound("API key not found")
    if key.revoked_at is None:
        key.revoked_at = datetime.now(UTC)
        audit.record(
            session,
            principal.org_id,
            principal,
            Action.key_revoked,
            f"api_key:{key.id}",
            {"name": key.name, "prefix": key.prefix},
        )
        await session.flush()
    return key
