"""The live stream: a WebSocket that pushes the org's events (simulator ticks and more)."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import APIRouter, WebSocket, WebSocketDisconnect, status

from failcast.auth.api_keys import Scope
from failcast.auth.principal import Principal, principal_from_token
from failcast.config import Settings
from failcast.db.engine import Database
from failcast.errors import Unauthorized
from failcast.live.hub import Hub, org_topic

router = APIRouter(tags=["live"])


async def _authenticate(websocket: WebSocket) -> Principal | None:
    settings: Settings = websocket.app.state.settings
    database: Database = websocket.app.state.db
    header = websocket.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else websocket.query_params.get("token")
    if not token:
        return None
    async with database.session() as session:
        try:
            principal = await principal_from_token(session, settings, token)
        except Unauthorized:
            return None
    return principal if principal.allows(Scope.read) else None


@router.websocket("/api/v1/stream")
async def stream(websocket: WebSocket) -> None:
    """Push every event of the caller's org as JSON text frames.

    Authenticate with `Authorization: Bearer ...` or, from browsers, `?token=...` (an access
    token or an API key with the read scope). Unauthenticated connections are closed with 1008.
    """
    principal = await _authenticate(websocket)
    if principal is None:
        await websocket.close(
            code=status.WS_1008_POLICY_VIOLATION, reason="authentication required"
        )
        return
    await websocket.accept()
    hub: Hub = websocket.app.state.hub
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
                    await websocket.send_json(getter.result())
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
