from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class Series(Base):
    """One metric of one service with one set of labels.

    `labels_key` is the canonical text of the labels (sorted `k=v` pairs), so that the same
    label set always maps to the same series whatever order a client sent it in.
    """

    __tablename__ = "series"
    __table_args__ = (
        UniqueConstraint("service_id", "metric", "labels_key"),
        # The metric names of an org, walked in order, and one metric's series.
        Index("ix_series_org_id_metric", "org_id", "metric"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    metric: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, str]] = mapped_column(Json)
    labels_key: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
