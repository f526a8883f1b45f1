from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import BigId, TypedJson
from failcast.signals import ExplainedFactor, RootCauseAnswer


class FailurePrediction(Base):
    """P(an incident of the service starts within `horizon_h` hours after `ts`), as one model
    version saw it; `outcome` is filled in once the horizon has passed."""

    __tablename__ = "prediction"
    __table_args__ = (
        Index("ix_prediction_org_service_ts", "org_id", "service_id", "ts"),
        Index("ix_prediction_model_version_id", "model_version_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    model_version_id: Mapped[int] = mapped_column(
        ForeignKey("model_version.id", ondelete="CASCADE")
    )
    shadow: Mapped[bool] = mapped_column(Boolean, default=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    horizon_h: Mapped[int] = mapped_column(Integer)
    probability: Mapped[float] = mapped_column(Float)
    alarm: Mapped[bool] = mapped_column(Boolean)
    incident_type: Mapped[str] = mapped_column(String(40))
    confidence: Mapped[float] = mapped_column(Float)
    risk_level: Mapped[str] = mapped_column(String(20))
    factors: Mapped[list[ExplainedFactor]] = mapped_column(TypedJson(list[ExplainedFactor]))
    root_cause: Mapped[RootCauseAnswer | None] = mapped_column(TypedJson(RootCauseAnswer | None))
    outcome: Mapped[bool | None] = mapped_column(Boolean)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
