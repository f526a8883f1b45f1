from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, EnumText, UTCDateTime, utcnow
from failcast.models._types import Json


class IncidentType(StrEnum):
    latency_spike = "latency_spike"
    accuracy_decay = "accuracy_decay"
    cost_overload = "cost_overload"
    pipeline_failure = "pipeline_failure"
    resource_exhaustion = "resource_exhaustion"
    cascade = "cascade"


# The types as text, for labels and other strings that may name one (or not).
INCIDENT_TYPES: frozenset[str] = frozenset(IncidentType)


class IncidentSource(StrEnum):
    simulator = "simulator"
    alert = "alert"
    import_ = "import"
    webhook = "webhook"


class Incident(Base):
    """A failure that happened: the labels that training, MTTR estimates and reports learn from.

    One service, one type and one start time make one incident, so a re-sent batch or a
    re-delivered webhook updates it instead of adding a second.
    """

    __tablename__ = "incident"
    __table_args__ = (
        UniqueConstraint("service_id", "type", "started_at"),
        Index("ix_incident_org_started", "org_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    type: Mapped[IncidentType] = mapped_column(EnumText(IncidentType, 40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    root_cause_service: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[IncidentSource] = mapped_column(EnumText(IncidentSource))
    title: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[dict[str, Any]] = mapped_column(Json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
