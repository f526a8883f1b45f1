"""Alertmanager's API v2 receiver: Prometheus (or anything speaking that API) posts its alerts
here, and they become Failcast alerts (see alerting/inbound.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Body, Response

from failcast.alerting.inbound import MAX_ALERTS, PostableAlert, receive
from failcast.deps import SessionDep
from failcast.errors import ValidationFailed
from failcast.integrations.auth import CanIngestBasic

router = APIRouter(tags=["integrations"])


@router.post(
    "/api/v2/alerts",
    status_code=200,
    operation_id="post_alertmanager_alerts",
    response_class=Response,
    responses={200: {"description": "Accepted, as Alertmanager answers."}},
)
async def post_alerts(
    principal: CanIngestBasic,
    session: SessionDep,
    alerts: Annotated[list[PostableAlert], Body(max_length=MAX_ALERTS)],
) -> Response:
    """Alertmanager's API v2 `postAlerts`, for Prometheus' `alerting:` configuration (with an
    API key that has the ingest scope, as bearer token or basic-auth password)."""
    for i, alert in enumerate(alerts):
        if not alert.labels.get("alertname"):
            raise ValidationFailed([{"index": i, "field": "labels", "msg": "needs alertname"}])
    await receive(session, principal.org_id, alerts, datetime.now(UTC))
    await session.flush()
    return Response(status_code=200)
