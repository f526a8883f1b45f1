"""One org's row by id: the lookup every org-scoped resource starts with."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from failcast.db.base import Base
from failcast.errors import NotFound

T = TypeVar("T", bound=Base)


async def get_owned(session: AsyncSession, model: type[T], org_id: int, id_: int, what: str) -> T:
    """The org's row of `model`, or NotFound: another org's id looks exactly like a missing one."""
    row = await session.get(model, id_)
    if row is None or getattr(row, "org_id", None) != org_id:
        raise NotFound(f"{what} not found")
    return row
