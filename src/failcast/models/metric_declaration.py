from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow


class MetricDeclaration(Base):
    """What an org says a metric is, in place of what its name suggests: its role (latency,
    memory, ...) and the value at which the service breaks. `service` "" applies to every
    service that reports the metric; a service's own declaration wins over it."""

    __tablename__ = "metric_declaration"
    __table_args__ = (UniqueConstraint("org_id", "service", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service: Mapped[str] = mapped_column(String(128), default="")
    metric: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(20))
    limit_value: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
