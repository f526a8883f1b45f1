from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, EnumText, UTCDateTime, utcnow
from failcast.models._types import Json


class ExperimentStatus(StrEnum):
    running = "running"
    completed = "completed"
    # The steady state did not hold before the method: nothing was injected.
    aborted = "aborted"


class Verdict(StrEnum):
    """Whether the steady-state hypothesis held in every phase that ran."""

    held = "held"
    deviated = "deviated"


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
    status: Mapped[ExperimentStatus] = mapped_column(
        EnumText(ExperimentStatus), default=ExperimentStatus.running
    )
    verdict: Mapped[Verdict | None] = mapped_column(EnumText(Verdict))
    journal: Mapped[dict[str, Any] | None] = mapped_column(Json)
    observe_from: Mapped[float] = mapped_column(Float)
    method_start: Mapped[float] = mapped_column(Float)
    method_end: Mapped[float] = mapped_column(Float)
    after_from: Mapped[float] = mapped_column(Float)
    after_to: Mapped[float] = mapped_column(Float)
    rolled_back: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
