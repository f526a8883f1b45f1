from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, ChoiceText, EnumText, UTCDateTime, utcnow
from failcast.models.model_version import TrainingSource


class TrainingState(StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"


class TrainingJob(Base):
    """One requested training of a failure model: where it stands and, if it failed, why."""

    __tablename__ = "training_job"
    __table_args__ = (Index("ix_training_job_org_id_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    state: Mapped[TrainingState] = mapped_column(
        EnumText(TrainingState), default=TrainingState.queued
    )
    source: Mapped[TrainingSource] = mapped_column(ChoiceText(TrainingSource))
    days: Mapped[int] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(2000))
    model_version: Mapped[int | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
