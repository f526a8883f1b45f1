"""Authentication for senders that cannot set a bearer header: Prometheus' remote_write sends
HTTP basic auth, so the password carries the API key (the user name is ignored)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated

from fastapi import Depends, Request

from failcast.auth.api_keys import KEY_MARK, Scope
from failcast.auth.principal import Principal, current_principal, principal_from_token
from failcast.deps import SessionDep, SettingsDep
from failcast.errors import Forbidden, Unauthorized
from failcast.models.membership import Role


def basic_password(request: Request) -> str | None:
    """The password of an `Authorization: Basic ...` header, if there is one."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("malformed basic credentials") from None
    return decoded.partition(":")[2] or None


async def _key_or_bearer(request: Request, session: SessionDep, settings: SettingsDep) -> Principal:
    """The caller of an API key sent as the basic-auth password, else of the usual headers."""
    password = basic_password(request)
    if password is None:
        return await current_principal(request, session, settings)
    if not password.startswith(KEY_MARK):
        raise Unauthorized("basic auth takes an API key as the password")
    principal = await principal_from_token(session, settings, password)
    request.state.principal = principal
    return principal


async def ingest_principal(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Principal:
    """An API key with the ingest scope, as a bearer token, `x-api-key` or basic password."""
    principal = await _key_or_bearer(request, session, settings)
    if not principal.allows(Scope.ingest):
        raise Forbidden("this action needs the 'ingest' scope")
    return principal


CanIngestBasic = Annotated[Principal, Depends(ingest_principal)]


async def query_principal(
    request: Request, session: SessionDep, settings: SettingsDep
) -> Principal:
    """A caller allowed to read: a person, or an API key with the read scope, sent as a bearer
    token, `x-api-key` or the basic-auth password (Grafana's datasource sends either)."""
    principal = await _key_or_bearer(request, session, settings)
    if not principal.has_role(Role.viewer):
        raise Forbidden("this action needs the 'read' scope")
    return principal


CanQuery = Annotated[Principal, Depends(query_principal)]
