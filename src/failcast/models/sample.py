from __future__ import annotations

from sqlalchemy import BigInteger, Float, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base


class Sample(Base):
    """One value of a series. `ts` is milliseconds since the Unix epoch, UTC.

    Integer milliseconds keep the row narrow, make bucketing the same arithmetic on every
    engine, and give PostgreSQL plain integer partition bounds.
    """

    __tablename__ = "sample"
    # SQLite keeps the rows clustered on (series_id, ts), like PostgreSQL's index order.
    __table_args__ = {"sqlite_with_rowid": False}

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
