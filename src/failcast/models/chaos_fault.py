from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow


class ChaosFault(Base):
    """A fault injected into an org's simulated fleet. Kept so a restart resumes it.

    Times are Unix seconds on the wall clock; the fault ends `lead_s + duration_s` after
    `start`, or at `stopped_at` when it was stopped early.
    """

    __tablename__ = "chaos_fault"
    __table_args__ = (Index("ix_chaos_fault_org_start", "org_id", "start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    experiment_id: Mapped[int | None] = mapped_column(
        ForeignKey("chaos_experiment.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(128))
    start: Mapped[float] = mapped_column(Float)
    duration_s: Mapped[float] = mapped_column(Float)
    lead_s: Mapped[float] = mapped_column(Float, default=0.0)
    intensity: Mapped[float] = mapped_column(Float, default=1.0)
    stopped_at: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def end(self) -> float:
        planned = self.start + self.lead_s + self.duration_s
        return min(planned, self.stopped_at) if self.stopped_at is not None else planned
