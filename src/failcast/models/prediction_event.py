from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base
from failcast.models._types import BigId, Json


class PredictionEvent(Base):
    """One prediction of an ML model service, joined with its ground-truth label when it comes.

    Either half may arrive first: a label for an unknown prediction id waits in a row whose
    `prediction` is null. `correct` is set once both are known; the model's rolling accuracy
    reads the newest labelled rows in `labelled_at` order. Times are epoch milliseconds.
    """

    __tablename__ = "prediction_event"
    __table_args__ = (
        UniqueConstraint("service_id", "prediction_id"),
        Index("ix_prediction_event_service_labelled", "service_id", "labelled_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    prediction_id: Mapped[str] = mapped_column(String(200))
    predicted_at: Mapped[int | None] = mapped_column(BigInteger)
    features: Mapped[dict[str, Any] | None] = mapped_column(Json)
    prediction: Mapped[Any] = mapped_column(Json, nullable=True)
    label: Mapped[Any] = mapped_column(Json, nullable=True)
    labelled_at: Mapped[int | None] = mapped_column(BigInteger)
    correct: Mapped[bool | None] = mapped_column(Boolean)
