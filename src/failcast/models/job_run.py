from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import BigId


class JobRun(Base):
    """One completed run of a periodic job in scale-out mode, for its scheduled time slot.

    `slot_ms` is the start of the interval the run belongs to. The pair (name, slot) is
    deliberately not unique: workers skip a slot that already has a row, and a duplicate row
    would show a double run instead of hiding it behind a constraint error.
    """

    __tablename__ = "job_run"
    __table_args__ = (Index("ix_job_run_name_slot_ms", "name", "slot_ms"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    slot_ms: Mapped[int] = mapped_column(BigInteger)
    fence: Mapped[int] = mapped_column(BigInteger)
    worker: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
