from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class DetectorState(Base):
    """A live detector's saved state and how far it has read, one row per `anomaly_score`
    series it writes.

    `series_id` is the scored input series, or null for a service-wide detector over the
    service's metric vector. `cursor_ts` is the newest input timestamp already scored (epoch
    milliseconds): the next run reads strictly after it. The state, the cursor and the scores
    are written in one transaction, so a crash neither repeats nor skips a point.
    """

    __tablename__ = "detector_state"

    score_series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(ForeignKey("service.id", ondelete="CASCADE"))
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), unique=True
    )
    detector: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(100))
    state: Mapped[dict[str, Any]] = mapped_column(Json)
    cursor_ts: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[int] = mapped_column(BigInteger, default=0)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
