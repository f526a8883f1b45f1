from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, ChoiceText, EnumText, UTCDateTime, utcnow
from failcast.models._types import Json


class ModelStatus(StrEnum):
    candidate = "candidate"  # scored in shadow beside the active model
    active = "active"  # the model whose predictions are served
    retired = "retired"


# Where a training request takes its data from: the org's stored metrics and incidents, or
# history of the simulated fleet generated for the occasion.
TrainingSource = Literal["database", "simulator"]
# Where a model's training data came from: a training request's source, or history imported
# from files (`failcast train --data`).
ModelSource = Literal[TrainingSource, "imported"]


class ModelVersion(Base):
    """One trained failure model of an org: its schema, training window, figures and artifact.

    The artifact (gzipped JSON: xgboost boosters, calibrators, thresholds) lives in the row so
    every API replica and worker reads the same bytes without a shared file system.
    """

    __tablename__ = "model_version"
    __table_args__ = (UniqueConstraint("org_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column()
    status: Mapped[ModelStatus] = mapped_column(
        EnumText(ModelStatus), default=ModelStatus.candidate
    )
    source: Mapped[ModelSource] = mapped_column(ChoiceText(ModelSource))
    features: Mapped[list[str]] = mapped_column(Json)
    horizons: Mapped[list[int]] = mapped_column(Json)
    train_start: Mapped[datetime] = mapped_column(UTCDateTime)
    train_end: Mapped[datetime] = mapped_column(UTCDateTime)
    metrics: Mapped[dict[str, Any]] = mapped_column(Json)
    meta: Mapped[dict[str, Any]] = mapped_column(Json)
    artifact: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the version was promoted past a failed promotion gate: by whom, why and when.
    forced_by: Mapped[str | None] = mapped_column(String(200))
    forced_reason: Mapped[str | None] = mapped_column(Text)
    forced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
