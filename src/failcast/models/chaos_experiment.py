from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class ChaosExperiment(Base):
    """One run of a chaos experiment: its spec, the phase windows and, when done, the journal.

    Phase windows are Unix seconds: `before` is [observe_from, method_start), `during` is
    [method_start, method_end), `after` is [after_from, after_to).
    """

    __tablename__ = "chaos_experiment"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(Json)
    status: Mapped[str] = mapped_column(String(20), default="running")
    verdict: Mapped[str | None] = mapped_column(String(20))
    journal: Mapped[dict[str, Any] | None] = mapped_column(Json)
    observe_from: Mapped[float] = mapped_column(Float)
    method_start: Mapped[float] = mapped_column(Float)
    method_end: Mapped[float] = mapped_column(Float)
    after_from: Mapped[float] = mapped_column(Float)
    after_to: Mapped[float] = mapped_column(Float)
    rolled_back: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
