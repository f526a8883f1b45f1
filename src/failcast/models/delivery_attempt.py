from __future__ import annotations

from datetime import datetime
from typing import Literal

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, ChoiceText, UTCDateTime
from failcast.models._types import BigId, Json

# What a notification asks of its receiver (PagerDuty's event actions, which every channel
# follows), and the event of a delivery: one of those, or a test message.
NotificationEvent = Literal["trigger", "acknowledge", "resolve"]
DeliveryEvent = Literal[NotificationEvent, "test"]


class DeliveryAttempt(Base):
    """One try at delivering one notification to one channel, successful or not."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (Index("ix_delivery_attempt_channel_at", "channel_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channel.id", ondelete="CASCADE")
    )
    notification_id: Mapped[str] = mapped_column(String(64))
    dedup_key: Mapped[str] = mapped_column(String(100))
    event: Mapped[DeliveryEvent] = mapped_column(ChoiceText(DeliveryEvent))
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    success: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)
    alert_ids: Mapped[list[int]] = mapped_column(Json)
