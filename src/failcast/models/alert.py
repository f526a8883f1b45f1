from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, EnumText, UTCDateTime
from failcast.models._types import Json


class AlertState(StrEnum):
    pending = "pending"  # the condition holds, its `for` has not elapsed yet
    firing = "firing"
    acknowledged = "acknowledged"
    resolved = "resolved"


class Severity(StrEnum):
    critical = "critical"
    warning = "warning"
    info = "info"


# The states in which an alert is active: it notifies, inhibits and is shown as open.
ACTIVE_STATES = (AlertState.firing, AlertState.acknowledged)


class Alert(Base):
    """One occurrence of a rule's condition on one series or service.

    States: pending (condition true, `for` not yet elapsed) -> firing -> acknowledged ->
    resolved. A fingerprint identifies the rule instance across occurrences.
    """

    __tablename__ = "alert"
    __table_args__ = (
        Index("ix_alert_org_state", "org_id", "state"),
        Index("ix_alert_org_fingerprint", "org_id", "fingerprint"),
        Index("ix_alert_org_started", "org_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rule.id", ondelete="SET NULL"), index=True
    )
    fingerprint: Mapped[str] = mapped_column(String(64))
    state: Mapped[AlertState] = mapped_column(EnumText(AlertState))
    severity: Mapped[Severity] = mapped_column(EnumText(Severity))
    service: Mapped[str | None] = mapped_column(String(128))
    title: Mapped[str] = mapped_column(String(500))
    labels: Mapped[dict[str, str]] = mapped_column(Json)
    context: Mapped[dict[str, Any]] = mapped_column(Json)
    value: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_true_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assignee: Mapped[str | None] = mapped_column(String(200))
    flapping: Mapped[bool] = mapped_column(Boolean, default=False)
    suppressed_by: Mapped[str | None] = mapped_column(String(200))
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incident.id", ondelete="SET NULL"))
