from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class DetectorChoice(Base):
    """The detector configuration live scoring uses for one metric of one service, in place
    of the default: a named configuration (detect/configs.py) and parameter overrides."""

    __tablename__ = "detector_choice"
    __table_args__ = (UniqueConstraint("service_id", "metric"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(200))
    detector: Mapped[str] = mapped_column(String(100))
    params: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
