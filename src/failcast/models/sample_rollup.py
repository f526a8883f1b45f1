from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base


class SampleRollup(Base):
    """One series' samples of one UTC hour, summarised: min, max, sum, count and the last one.

    `hour_ts` is the hour's start in milliseconds. Long-range queries with hour-aligned buckets
    combine these rows instead of reading every raw sample; they outlive the raw samples.
    """

    __tablename__ = "sample_rollup"
    __table_args__ = {"sqlite_with_rowid": False}

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    hour_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    min_value: Mapped[float] = mapped_column(Float)
    max_value: Mapped[float] = mapped_column(Float)
    sum_value: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    last_value: Mapped[float] = mapped_column(Float)
