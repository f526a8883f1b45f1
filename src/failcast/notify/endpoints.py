"""Notification channels, the routing policy and the delivery log (admins only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import select

from failcast.auth.principal import CanAdmin
from failcast.db.owned import get_owned
from failcast.deps import NotifierDep, PathId, SessionDep, SettingsDep
from failcast.errors import Conflict, ValidationFailed, problems_from_pydantic
from failcast.kit.bodies import parse_body, read_text
from failcast.kit.responses import errors
from failcast.kit.yamlsource import validate_yaml
from failcast.models import DeliveryAttempt, DeliveryEvent, NotificationChannel, NotificationPolicy
from failcast.notify import channels as channel_types
from failcast.notify.grouping import load_policy
from failcast.notify.routing import RoutingPolicy
from failcast.ops.body_limit import bulk_body

router = APIRouter(prefix="/api/v1", tags=["notifications"])


class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: channel_types.ChannelKind
    config: dict[str, Any]
    enabled: bool = True


class ChannelPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200)
    config: dict[str, Any] | None = None
    enabled: bool | None = None


class ChannelOut(BaseModel):
    id: int
    name: str
    kind: str
    config: dict[str, Any] = Field(description="secrets are shown as ********")
    enabled: bool
    created_at: datetime
    updated_at: datetime


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel_id: int
    notification_id: str
    dedup_key: str
    event: DeliveryEvent
    attempt: int
    at: datetime
    success: bool
    status_code: int | None
    error: str | None
    duration_ms: float
    alert_ids: list[int]


class TestResult(BaseModel):
    delivered: bool
    result: str = Field(
        description='"delivered", or "delivery failed" with the receiver\'s status when it '
        'answered one ("delivery failed: HTTP 503"), or "delivery failed: destination not '
        'allowed" for an address outbound connections may not reach.'
    )


def _out(row: NotificationChannel) -> ChannelOut:
    return ChannelOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        config=channel_types.redacted(row.kind, row.config),
        enabled=row.enabled,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _name_taken(session: SessionDep, org_id: int, name: str, own_id: int | None) -> None:
    other = await session.scalar(
        select(NotificationChannel.id).where(
            NotificationChannel.org_id == org_id, NotificationChannel.name == name
        )
    )
    if other is not None and other != own_id:
        raise Conflict(f"a channel named {name!r} already exists")


@router.get("/channels", response_model=list[ChannelOut], operation_id="list_channels")
async def list_channels(principal: CanAdmin, session: SessionDep) -> list[ChannelOut]:
    rows = await session.scalars(
        select(NotificationChannel)
        .where(NotificationChannel.org_id == principal.org_id)
        .order_by(NotificationChannel.name)
    )
    return [_out(r) for r in rows]


@router.post(
    "/channels",
    response_model=ChannelOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_channel",
    responses=errors(409),
)
async def create_channel(
    body: ChannelIn, principal: CanAdmin, session: SessionDep, notifier: NotifierDep
) -> ChannelOut:
    """Add a Slack, PagerDuty, email or webhook channel; `config` depends on the kind."""
    await _name_taken(session, principal.org_id, body.name, None)
    now = datetime.now(UTC)
    row = NotificationChannel(
        org_id=principal.org_id,
        name=body.name,
        kind=body.kind,
        config=channel_types.validate_config(body.kind, body.config, notifier.egress),
        enabled=body.enabled,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return _out(row)


@router.get("/channels/{channel_id}", response_model=ChannelOut, operation_id="get_channel")
async def get_channel(channel_id: PathId, principal: CanAdmin, session: SessionDep) -> ChannelOut:
    row = await get_owned(session, NotificationChannel, principal.org_id, channel_id, "channel")
    return _out(row)


@router.patch(
    "/channels/{channel_id}",
    response_model=ChannelOut,
    operation_id="update_channel",
    responses=errors(409),
)
async def update_channel(
    channel_id: PathId,
    body: ChannelPatch,
    principal: CanAdmin,
    session: SessionDep,
    notifier: NotifierDep,
) -> ChannelOut:
    """Rename, reconfigure, enable or disable a channel. Secrets sent back as ******** are
    kept as stored."""
    row = await get_owned(session, NotificationChannel, principal.org_id, channel_id, "channel")
    if body.name is not None:
        await _name_taken(session, principal.org_id, body.name, row.id)
        row.name = body.name
    if body.config is not None:
        merged = channel_types.merge_secrets(row.kind, row.config, body.config)
        row.config = channel_types.validate_config(row.kind, merged, notifier.egress)
    if body.enabled is not None:
        row.enabled = body.enabled
    row.updated_at = datetime.now(UTC)
    await session.flush()
    return _out(row)


@router.delete(
    "/channels/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="delete_channel",
)
async def delete_channel(channel_id: PathId, principal: CanAdmin, session: SessionDep) -> Response:
    row = await get_owned(session, NotificationChannel, principal.org_id, channel_id, "channel")
    await session.delete(row)
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/channels/{channel_id}/test", response_model=TestResult, operation_id="test_channel")
async def test_channel(
    channel_id: PathId, principal: CanAdmin, session: SessionDep, notifier: NotifierDep
) -> TestResult:
    """Send a test notification now (one attempt, recorded in the delivery log). The answer
    says whether it was delivered and, if not, only the receiver's status: never why a
    connection failed."""
    row = await get_owned(session, NotificationChannel, principal.org_id, channel_id, "channel")
    outcome = await notifier.test_channel(session, row, datetime.now(UTC))
    if outcome.delivered:
        return TestResult(delivered=True, result="delivered")
    return TestResult(delivered=False, result=outcome.error or channel_types.FAILED)


@router.get(
    "/channels/{channel_id}/deliveries",
    response_model=list[DeliveryOut],
    operation_id="list_channel_deliveries",
)
async def list_deliveries(
    channel_id: PathId,
    principal: CanAdmin,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """The channel's delivery log, newest first: one row per attempt."""
    await get_owned(session, NotificationChannel, principal.org_id, channel_id, "channel")
    rows = await session.scalars(
        select(DeliveryAttempt)
        .where(DeliveryAttempt.channel_id == channel_id)
        .order_by(DeliveryAttempt.at.desc(), DeliveryAttempt.id.desc())
        .limit(limit)
    )
    return [DeliveryOut.model_validate(r) for r in rows]


@router.get(
    "/notification-policy", response_model=RoutingPolicy, operation_id="get_notification_policy"
)
async def get_policy(principal: CanAdmin, session: SessionDep) -> RoutingPolicy:
    """The routing tree; without one, every alert goes to every enabled channel."""
    names = await session.scalars(
        select(NotificationChannel.name).where(
            NotificationChannel.org_id == principal.org_id, NotificationChannel.enabled.is_(True)
        )
    )
    return await load_policy(session, principal.org_id, list(names))


@router.put(
    "/notification-policy",
    response_model=RoutingPolicy,
    operation_id="put_notification_policy",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": RoutingPolicy.model_json_schema()},
                "application/yaml": {"schema": {"type": "string"}},
            },
        }
    },
)
@bulk_body
async def put_policy(
    request: Request, principal: CanAdmin, session: SessionDep, settings: SettingsDep
) -> RoutingPolicy:
    """Replace the routing tree (`{"route": {...}}`, JSON or YAML). Receivers name channels."""
    if "json" in request.headers.get("content-type", ""):
        data = await parse_body(request, settings, "routes")
        try:
            policy = RoutingPolicy.model_validate(data)
        except ValidationError as exc:
            raise ValidationFailed(problems_from_pydantic(list(exc.errors()))) from None
    else:
        text = await read_text(request, settings.max_body_bytes)
        policy = validate_yaml(RoutingPolicy, text, "policy.yaml")
    names = set(
        await session.scalars(
            select(NotificationChannel.name).where(NotificationChannel.org_id == principal.org_id)
        )
    )
    unknown = sorted(policy.route.receiver_names() - names)
    if unknown:
        raise ValidationFailed(
            [{"field": "route.receivers", "msg": f"no channel named {n!r}"} for n in unknown]
        )
    row = await session.scalar(
        select(NotificationPolicy).where(NotificationPolicy.org_id == principal.org_id)
    )
    if row is None:
        row = NotificationPolicy(org_id=principal.org_id)
        session.add(row)
    row.route = policy.route.model_dump(mode="json", by_alias=True, exclude_none=True)
    row.updated_at = datetime.now(UTC)
    await session.flush()
    return policy
