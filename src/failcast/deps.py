"""`Annotated` dependency aliases, declared once and used by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.config import Settings
from failcast.db.cursors import MAX_ROW_ID
from failcast.db.engine import Database
from failcast.db.transactions import session_scope


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's one transaction: committed when the endpoint succeeds, rolled back when
    it raises (a handled 4xx included).

    `SessionDep` gives this dependency the "function" scope, so FastAPI runs its exit when the
    endpoint has returned and its response is serialized, but before the response is sent: a
    client's next request sees its own write, and a failing commit becomes an error answer
    rather than a write lost after a 2xx. (The default "request" scope would exit only after
    the response had gone out.)"""
    database: Database = request.app.state.db
    async with session_scope(database) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
# A larger id in a path is a 422, never an overflow in the driver.
PathId = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="A row id.")]
