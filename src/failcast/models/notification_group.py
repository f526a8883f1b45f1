from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class NotificationGroup(Base):
    """An aggregation group of one route for one channel, and what it last notified.

    `last_alerts` maps alert id to the state it was notified in; `next_flush_at` is when the
    group is looked at again (group_wait after creation, then every group_interval).
    """

    __tablename__ = "notification_group"
    __table_args__ = (UniqueConstraint("channel_id", "route_path", "group_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(
        ForeignKey("notification_channel.id", ondelete="CASCADE")
    )
    route_path: Mapped[str] = mapped_column(String(200))
    group_key: Mapped[str] = mapped_column(String(64))
    group_labels: Mapped[dict[str, str]] = mapped_column(Json)
    dedup_key: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_flush_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    last_alerts: Mapped[dict[str, str]] = mapped_column(Json)
