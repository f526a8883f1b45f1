from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class HealthConfigRow(Base):
    """An org's health settings: the body of a `failcast.health.HealthConfig`, one per org."""

    __tablename__ = "health_config"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), unique=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
