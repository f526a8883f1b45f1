"""Alert rules: list, create, import from YAML, replace and delete; a changed or deleted rule
resolves the alerts it raised."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from sqlalchemy import select

from failcast.alerting import lifecycle, repository
from failcast.alerting.rules import RuleSpec, dump_rule, load_rules_yaml
from failcast.alerting.schemas import (
    RuleImportResult,
    RuleOut,
)
from failcast.auth.principal import CanRead, CanWrite
from failcast.db.base import utcnow
from failcast.db.owned import get_owned
from failcast.deps import PathId, SessionDep, SettingsDep
from failcast.errors import Conflict
from failcast.kit.bodies import read_text
from failcast.kit.responses import errors
from failcast.models import Alert, AlertRule
from failcast.models.alert import ACTIVE_STATES
from failcast.ops.body_limit import bulk_body

rules = APIRouter(prefix="/alert-rules", tags=["alerting"])


_YAML_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/yaml": {"schema": {"type": "string"}}},
    }
}


async def _resolve_open_alerts(session: SessionDep, rule: AlertRule, why: str) -> None:
    now = utcnow()
    for alert in await session.scalars(
        select(Alert).where(Alert.rule_id == rule.id, Alert.state.in_(("pending", *ACTIVE_STATES)))
    ):
        if alert.state == "pending":
            await session.delete(alert)
        else:
            lifecycle.resolve(session, alert, lifecycle.SYSTEM, now, why)


def _apply(rule: AlertRule, spec: RuleSpec) -> None:
    rule.name = spec.name
    rule.kind = spec.kind
    rule.severity = spec.severity
    rule.enabled = spec.enabled
    rule.spec = dump_rule(spec)
    rule.updated_at = utcnow()


@rules.get("", response_model=list[RuleOut], operation_id="list_alert_rules")
async def list_rules(principal: CanRead, session: SessionDep) -> list[RuleOut]:
    """Every alert rule of the org, by name."""
    return [
        RuleOut.model_validate(r) for r in await repository.list_rules(session, principal.org_id)
    ]


@rules.post(
    "",
    response_model=RuleOut,
    status_code=status.HTTP_201_CREATED,
    operation_id="create_alert_rule",
    responses=errors(409),
)
async def create_rule(body: RuleSpec, principal: CanWrite, session: SessionDep) -> RuleOut:
    """Add a rule; its `kind` picks the schema (threshold, anomaly_score, forecast_breach,
    failure_probability, slo_burn, drift)."""
    if await repository.find_rule(session, principal.org_id, body.name):
        raise Conflict(f"a rule named {body.name!r} already exists")
    rule = AlertRule(org_id=principal.org_id, created_at=utcnow())
    _apply(rule, body)
    session.add(rule)
    await session.flush()
    return RuleOut.model_validate(rule)


@rules.post(
    "/import",
    response_model=RuleImportResult,
    operation_id="import_alert_rules",
    openapi_extra=_YAML_BODY,
    responses=errors(409),
)
@bulk_body
async def import_rules(
    request: Request, principal: CanWrite, session: SessionDep, settings: SettingsDep
) -> RuleImportResult:
    """Create or replace (by name) every rule of a YAML file `rules: [...]`, all or none.
    Errors give the line and the key."""
    specs = load_rules_yaml(await read_text(request, settings.max_body_bytes))
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise Conflict(f"the file defines {', '.join(duplicates)} more than once")
    created, updated = [], []
    for spec in specs:
        rule = await repository.find_rule(session, principal.org_id, spec.name)
        if rule is None:
            rule = AlertRule(org_id=principal.org_id, created_at=utcnow())
            session.add(rule)
            created.append(spec.name)
        else:
            updated.append(spec.name)
        _apply(rule, spec)
        await session.flush()
        if not spec.enabled:
            await _resolve_open_alerts(session, rule, "rule disabled")
    await session.flush()
    return RuleImportResult(created=created, updated=updated)


@rules.get("/{rule_id}", response_model=RuleOut, operation_id="get_alert_rule")
async def get_rule(rule_id: PathId, principal: CanRead, session: SessionDep) -> RuleOut:
    rule = await get_owned(session, AlertRule, principal.org_id, rule_id, "rule")
    return RuleOut.model_validate(rule)


@rules.put(
    "/{rule_id}", response_model=RuleOut, operation_id="replace_alert_rule", responses=errors(409)
)
async def replace_rule(
    rule_id: PathId, body: RuleSpec, principal: CanWrite, session: SessionDep
) -> RuleOut:
    """Replace a rule's definition. Disabling it resolves its open alerts."""
    rule = await get_owned(session, AlertRule, principal.org_id, rule_id, "rule")
    other = await repository.find_rule(session, principal.org_id, body.name)
    if other is not None and other.id != rule.id:
        raise Conflict(f"a rule named {body.name!r} already exists")
    _apply(rule, body)
    if not body.enabled:
        await _resolve_open_alerts(session, rule, "rule disabled")
    await session.flush()
    return RuleOut.model_validate(rule)


@rules.delete(
    "/{rule_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="delete_alert_rule"
)
async def delete_rule(rule_id: PathId, principal: CanWrite, session: SessionDep) -> Response:
    """Delete a rule; its open alerts are resolved and its history is kept."""
    rule = await get_owned(session, AlertRule, principal.org_id, rule_id, "rule")
    await _resolve_open_alerts(session, rule, "rule deleted")
    await session.delete(rule)
    await session.flush()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
