from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, ChoiceText, UTCDateTime, utcnow
from failcast.models._types import Json

ChannelKind = Literal["slack", "pagerduty", "email", "webhook", "alertmanager"]


class NotificationChannel(Base):
    """Where notifications go: Slack, PagerDuty, email or a webhook, with its settings."""

    __tablename__ = "notification_channel"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ChannelKind] = mapped_column(ChoiceText(ChannelKind))
    config: Mapped[dict[str, Any]] = mapped_column(Json)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
