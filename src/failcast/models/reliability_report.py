from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, EnumText, UTCDateTime, utcnow


class ReportTrigger(StrEnum):
    """What made a stored report: the weekly schedule, or a request."""

    schedule = "schedule"
    on_demand = "on_demand"


class ReliabilityReport(Base):
    """A generated PDF reliability report of one org over [period_start, period_end)."""

    __tablename__ = "reliability_report"
    __table_args__ = (Index("ix_reliability_report_org_created", "org_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    period_start: Mapped[datetime] = mapped_column(UTCDateTime)
    period_end: Mapped[datetime] = mapped_column(UTCDateTime)
    trigger: Mapped[ReportTrigger] = mapped_column(EnumText(ReportTrigger))
    size: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
