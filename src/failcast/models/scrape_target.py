from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class ScrapeTarget(Base):
    """A Prometheus exposition endpoint Failcast pulls for one service, and its last outcome.

    `next_scrape_at` is when the periodic job is next due to pull it, so finding the due
    targets is one indexed comparison on every engine.
    """

    __tablename__ = "scrape_target"
    __table_args__ = (UniqueConstraint("org_id", "url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(128))
    url: Mapped[str] = mapped_column(String(2000))
    interval_seconds: Mapped[float] = mapped_column(Float)
    timeout_seconds: Mapped[float] = mapped_column(Float)
    labels: Mapped[dict[str, str]] = mapped_column(Json)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_scrape_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_scrape_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_duration_seconds: Mapped[float | None] = mapped_column(Float)
    last_samples: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    up: Mapped[bool | None] = mapped_column(Boolean)
