"""The live stream: a WebSocket that pushes the org's events (simulator ticks and more).

A member restricted to their teams' services hears about those services only. What they may
see is read when they connect and again at most every `VISIBILITY_SECONDS` while events come,
so a change of teams or of the org's setting reaches an open stream within that time."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from failcast.auth.api_keys import Scope
from failcast.auth.principal import Principal, principal_from_token
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.db.transactions import session_scope
from failcast.deps import DatabaseDep, HubDep, SettingsDep
from failcast.errors import Unauthorized
from failcast.live.events import scoped
from failcast.live.hub import org_topic
from failcast.teams import service as teams

router = APIRouter(tags=["live"])

VISIBILITY_SECONDS = 10.0


class _Viewer:
    """What one connection may see, read again from the store once it is older than
    `VISIBILITY_SECONDS`."""

    def __init__(self, database: Database, principal: Principal) -> None:
        self.database = database
        self.principal = principal
        self.seen = teams.EVERYTHING
        self.read_at = -math.inf

    async def scope(self, message: dict[str, Any]) -> dict[str, Any] | None:
        if time.monotonic() - self.read_at >= VISIBILITY_SECONDS:
            async with session_scope(self.database) as session:
                self.seen = await teams.visibility(session, self.principal)
            self.read_at = time.monotonic()
        return scoped(message, self.seen)


async def _authenticate(
    websocket: WebSocket, settings: Settings, database: Database
) -> Principal | None:
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else websocket.query_params.get("token")
    if not token:
        return None
    async with session_scope(database) as session:
        try:
            principal = await principal_from_token(session, settings, token)
        except Unauthorized:
            return None
    return principal if principal.allows(Scope.read) else None


@router.websocket("/api/v1/stream")
async def stream(
    websocket: WebSocket, settings: SettingsDep, database: DatabaseDep, hub: HubDep
) -> None:
    """Push every event of the caller's org as JSON text frames (of the caller's teams'
    services, in an org that restricts members to them).

    Authenticate with `Authorization: Bearer ...` or, from browsers, `?token=...` (an access
    token or an API key with the read scope). Unauthenticated connections are closed with 1008.
    """
    principal = await _authenticate(websocket, settings, database)
    if principal is None:
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION, reason="authentication required"
        )
        return
    await websocket.accept()
    viewer = _Viewer(database, principal)
    async with hub.subscribe(org_topic(principal.org_id)) as subscription:
        await websocket.send_json({"type": "hello", "org_id": principal.org_id})
        receiver = asyncio.create_task(_drain_client(websocket))
        try:
            while not receiver.done():
                getter = asyncio.create_task(subscription.get())
                done, _ = await asyncio.wait(
                    {getter, receiver}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter in done:
                    message = await viewer.scope(getter.result())
                    if message is not None:
                        await websocket.send_json(message)
                else:
                    getter.cancel()
        except WebSocketDisconnect:
            pass
        finally:
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                await receiver


async def _drain_client(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await websocket.receive_text()
