"""Incidents: failures that happened, from the simulator, resolved alerts, CSV imports and
webhooks (Alertmanager or generic). One service, type and start time make one incident, so
re-sending updates instead of duplicating."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from failcast.alerting.rules import incident_type_for_metric
from failcast.db.upsert import insert_ignoring_conflicts
from failcast.errors import ValidationFailed, problems_from_pydantic
from failcast.kit.names import SERVICE_PATTERN
from failcast.models import Incident, Service
from failcast.models.incident import IncidentSource, IncidentType
from failcast.teams.service import EVERYTHING, Visibility
from failcast.timeutil import ms_to_datetime, parse_ts

MAX_BATCH = 10_000
_NANOS = re.compile(r"(\.\d{6})\d+")
# Alertmanager's endsAt for an alert that has not ended.
_ZERO_TIME = "0001-01-01T00:00:00Z"


def _timestamp(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("timestamp needs a time zone offset, such as Z or +02:00")
        return value
    if isinstance(value, str):
        # Go (Alertmanager) writes nanoseconds; Python reads at most microseconds.
        value = _NANOS.sub(r"\1", value)
    return ms_to_datetime(parse_ts(value))


Timestamp = Annotated[datetime, BeforeValidator(_timestamp)]


class IncidentIn(BaseModel):
    """One incident as the API, the CSV import and the webhooks accept it."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(min_length=1, max_length=128, pattern=SERVICE_PATTERN)
    type: IncidentType
    start: Timestamp = Field(description="RFC 3339 text with a zone, or Unix seconds.")
    end: Timestamp | None = Field(default=None, description="None while it lasts.")
    root_cause_service: str | None = Field(default=None, max_length=128, pattern=SERVICE_PATTERN)
    source: IncidentSource = IncidentSource.import_
    title: str = Field(default="", max_length=500)

    @model_validator(mode="after")
    def _ordered(self) -> IncidentIn:
        if self.end is not None and self.end < self.start:
            raise ValueError("end is before start")
        return self


class IncidentBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    incidents: list[IncidentIn] = Field(max_length=MAX_BATCH)


def validate_batch(data: Any, *, default_source: IncidentSource | None = None) -> list[IncidentIn]:
    """Every incident of a `{"incidents": [...]}` body, or a 422 naming each bad field."""
    if default_source is not None and isinstance(data, dict):
        items = data.get("incidents")
        if isinstance(items, list):
            items = [
                {"source": default_source.value} | item if isinstance(item, dict) else item
                for item in items
            ]
            data = data | {"incidents": items}
    try:
        return IncidentBatch.model_validate(data).incidents
    except ValidationError as exc:
        errors = exc.errors()
        drop = 1 if all(e["loc"][:1] == ("incidents",) for e in errors) else 0
        raise ValidationFailed(problems_from_pydantic(list(errors), drop=drop)) from None


CSV_COLUMNS = ("service", "type", "start", "end", "root_cause_service", "source", "title")


def parse_csv(text: str) -> list[IncidentIn]:
    """Incidents from CSV with a header row naming some of CSV_COLUMNS (service, type and
    start are required); errors carry the data row's index (0 is the row under the header)."""
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in CSV_COLUMNS]
    missing = [name for name in ("service", "type", "start") if name not in header]
    if unknown or missing:
        problems = [{"field": n, "msg": "unknown column"} for n in unknown]
        problems += [{"field": n, "msg": "required column is missing"} for n in missing]
        raise ValidationFailed(problems)
    rows: list[dict[str, Any]] = []
    for row in reader:
        cleaned = {k: v.strip() for k, v in row.items() if k is not None and v is not None}
        rows.append({k: v for k, v in cleaned.items() if v != ""})
    if not rows:
        raise ValidationFailed([{"field": None, "msg": "the file holds no incidents"}])
    return validate_batch({"incidents": rows}, default_source=IncidentSource.import_)


async def service_ids(session: AsyncSession, org_id: int, names: set[str]) -> dict[str, int]:
    """Ids of the named services, creating the unknown ones as ingestion does."""
    if not names:
        return {}
    await insert_ignoring_conflicts(
        session,
        Service.__table__,  # type: ignore[arg-type]
        [
            {"org_id": org_id, "name": name, "kind": "microservice", "description": ""}
            for name in sorted(names)
        ],
        ["org_id", "name"],
    )
    rows = await session.execute(
        select(Service.name, Service.id).where(
            Service.org_id == org_id, Service.name.in_(sorted(names))
        )
    )
    return {name: id_ for name, id_ in rows}


async def upsert(
    session: AsyncSession,
    org_id: int,
    item: IncidentIn,
    *,
    details: dict[str, Any] | None = None,
    service_id: int | None = None,
) -> Incident:
    """Insert the incident, or update the one with the same service, type and start."""
    if service_id is None:
        service_id = (await service_ids(session, org_id, {item.service}))[item.service]
    incident = await session.scalar(
        select(Incident).where(
            Incident.service_id == service_id,
            Incident.type == item.type.value,
            Incident.started_at == item.start,
        )
    )
    if incident is None:
        incident = Incident(
            org_id=org_id,
            service_id=service_id,
            type=item.type.value,
            started_at=item.start,
            details={},
        )
        session.add(incident)
    incident.ended_at = item.end if item.end is not None else incident.ended_at
    incident.root_cause_service = item.root_cause_service or incident.root_cause_service
    incident.source = item.source
    incident.title = item.title or incident.title
    incident.details = {**(incident.details or {}), **(details or {})}
    await session.flush()
    return incident


async def store_batch(
    session: AsyncSession,
    org_id: int,
    items: Sequence[IncidentIn],
    details: Sequence[dict[str, Any]] | None = None,
) -> list[Incident]:
    """Store every incident or, on any error, none of them."""
    try:
        ids = await service_ids(session, org_id, {i.service for i in items})
        stored: list[Incident] = []
        for n, item in enumerate(items):
            extra = details[n] if details else None
            stored.append(
                await upsert(session, org_id, item, details=extra, service_id=ids[item.service])
            )
        await session.flush()
    except BaseException:
        await session.rollback()
        raise
    return stored


async def list_incidents(
    session: AsyncSession,
    org_id: int,
    *,
    service: str | None,
    incident_type: IncidentType | None,
    start: datetime | None,
    end: datetime | None,
    before: tuple[datetime, int] | None,
    limit: int,
    seen: Visibility = EVERYTHING,
) -> list[tuple[Incident, str]]:
    """Newest first, of the services `seen` admits; `before` is the (started_at, id) of the
    last item of the previous page."""
    statement = (
        select(Incident, Service.name)
        .join(Service, Service.id == Incident.service_id)
        .where(Incident.org_id == org_id, seen.where(Service.name))
        .order_by(Incident.started_at.desc(), Incident.id.desc())
        .limit(limit)
    )
    if service is not None:
        statement = statement.where(Service.name == service)
    if incident_type is not None:
        statement = statement.where(Incident.type == incident_type.value)
    if start is not None:
        statement = statement.where(Incident.started_at >= start)
    if end is not None:
        statement = statement.where(Incident.started_at < end)
    if before is not None:
        at, id_ = before
        statement = statement.where(
            (Incident.started_at < at) | ((Incident.started_at == at) & (Incident.id < id_))
        )
    rows = await session.execute(statement)
    return [(incident, name) for incident, name in rows]


class AlertmanagerAlert(BaseModel):
    """One alert of an Alertmanager webhook (payload version 4), in Alertmanager's own
    field names."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str
    endsAt: str = _ZERO_TIME
    generatorURL: str = ""
    fingerprint: str = ""


class AlertmanagerPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")

    version: str = "4"
    groupKey: str = ""
    status: Literal["firing", "resolved"] = "firing"
    receiver: str = ""
    alerts: list[AlertmanagerAlert] = Field(max_length=MAX_BATCH)


_SERVICE = re.compile(SERVICE_PATTERN)


def from_alertmanager(
    payload: AlertmanagerPayload,
) -> tuple[list[IncidentIn], list[dict[str, Any]]]:
    """Incidents (and their details) from an Alertmanager webhook; 422 for alerts that name
    no service (labels `service`, `job` or `app`)."""
    items: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    problems: list[dict[str, Any]] = []
    for index, alert in enumerate(payload.alerts):
        labels = alert.labels
        service = labels.get("service") or labels.get("job") or labels.get("app")
        if not service or not _SERVICE.match(service):
            problems.append(
                {"index": index, "field": "labels.service", "msg": "the alert names no service"}
            )
            continue
        name = labels.get("alertname", "")
        try:
            kind = IncidentType(labels.get("incident_type", ""))
        except ValueError:
            kind = incident_type_for_metric(f"{name} {alert.annotations.get('summary', '')}")
        ended = alert.status == "resolved" and not alert.endsAt.startswith("0001-")
        items.append(
            {
                "service": service[:128],
                "type": kind.value,
                "start": alert.startsAt,
                "end": alert.endsAt if ended else None,
                "root_cause_service": labels.get("root_cause_service"),
                "source": IncidentSource.webhook.value,
                "title": (alert.annotations.get("summary") or name or "alert")[:500],
            }
        )
        details.append(
            {
                "origin": "alertmanager",
                "receiver": payload.receiver,
                "fingerprint": alert.fingerprint,
                "labels": labels,
                "annotations": alert.annotations,
                "generator_url": alert.generatorURL,
            }
        )
    if problems:
        raise ValidationFailed(problems)
    return validate_batch({"incidents": items}), details
