"""Silences: Alertmanager-style matchers that quiet alerts for a while."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, status
from sqlalchemy import select

from failcast.alerting import lifecycle
from failcast.alerting.schemas import (
    SilenceIn,
    SilenceOut,
)
from failcast.auth.principal import CanRead, CanWrite
from failcast.db.base import utcnow
from failcast.db.owned import get_owned
from failcast.deps import PathId, SessionDep
from failcast.errors import Conflict
from failcast.kit.durations import duration_ms
from failcast.kit.matchers import parse_matcher
from failcast.kit.responses import errors
from failcast.models import Silence

silences = APIRouter(prefix="/silences", tags=["alerting"])


def _silence_out(silence: Silence, now: datetime) -> SilenceOut:
    state = (
        "pending" if silence.starts_at > now else ("active" if silence.ends_at > now else "expired")
    )
    return SilenceOut(
        id=silence.id,
        matchers=[str(parse_matcher(m)) for m in silence.matchers],
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        comment=silence.comment,
        created_by=silence.created_by,
        status=state,
    )


@silences.get("", response_model=list[SilenceOut], operation_id="list_silences")
async def list_silences(
    principal: CanRead, session: SessionDep, include_expired: bool = False
) -> list[SilenceOut]:
    now = utcnow()
    statement = select(Silence).where(Silence.org_id == principal.org_id)
    if not include_expired:
        statement = statement.where(Silence.ends_at > now)
    rows = await session.scalars(statement.order_by(Silence.ends_at.desc(), Silence.id.desc()))
    return [_silence_out(s, now) for s in rows]


@silences.post(
    "",
    response_model=SilenceOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_silence",
    responses=errors(409),
)
async def create_silence(body: SilenceIn, principal: CanWrite, session: SessionDep) -> SilenceOut:
    """Mute notifications of alerts whose labels match every matcher (=, !=, =~, !~)."""
    now = utcnow()
    starts = body.starts_at or now
    ends = body.ends_at or starts + timedelta(milliseconds=duration_ms(body.duration or "0s"))
    if ends <= starts:
        raise Conflict("the silence would end before it starts")
    silence = Silence(
        org_id=principal.org_id,
        matchers=[parse_matcher(m).as_dict() for m in body.matchers],
        starts_at=starts,
        ends_at=ends,
        comment=body.comment,
        created_by=lifecycle.actor_of(principal),
        created_at=now,
    )
    session.add(silence)
    await session.flush()
    return _silence_out(silence, now)


@silences.get("/{silence_id}", response_model=SilenceOut, operation_id="get_silence")
async def get_silence(silence_id: PathId, principal: CanRead, session: SessionDep) -> SilenceOut:
    silence = await get_owned(session, Silence, principal.org_id, silence_id, "silence")
    return _silence_out(silence, utcnow())


@silences.put(
    "/{silence_id}", response_model=SilenceOut, operation_id="update_silence", responses=errors(409)
)
async def update_silence(
    silence_id: PathId, body: SilenceIn, principal: CanWrite, session: SessionDep
) -> SilenceOut:
    silence = await get_owned(session, Silence, principal.org_id, silence_id, "silence")
    starts = body.starts_at or silence.starts_at
    silence.matchers = [parse_matcher(m).as_dict() for m in body.matchers]
    silence.starts_at = starts
    silence.ends_at = body.ends_at or starts + timedelta(
        milliseconds=duration_ms(body.duration or "0s")
    )
    silence.comment = body.comment
    await session.flush()
    return _silence_out(silence, utcnow())


@silences.delete("/{silence_id}", response_model=SilenceOut, operation_id="expire_silence")
async def expire_silence(
    silence_id: PathId, principal: CanWrite, session: SessionDep
) -> SilenceOut:
    """Expire a silence now; it stays in the list of expired silences."""
    silence = await get_owned(session, Silence, principal.org_id, silence_id, "silence")
    now = utcnow()
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at)
    await session.flush()
    return _silence_out(silence, now)
