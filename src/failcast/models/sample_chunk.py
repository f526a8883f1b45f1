from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base


class SampleChunk(Base):
    """One series' samples of one closed window, packed by the chunk codec (store/codec.py).

    `start_ts` is the window's start in milliseconds (windows are `CHUNK_MS` long and aligned
    on the epoch); `first_ts` and `last_ts` are the times of its first and last points and
    `count` the number of points.
    Recent samples stay rows of `sample` until their window closes (docs/architecture.md).
    """

    __tablename__ = "sample_chunk"
    # A rowid table on SQLite: a WITHOUT ROWID row keeps only about 1 kB in its page and
    # spills the rest of a chunk into a mostly empty overflow page.

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    # Retention and the rollup job ask for windows across every series.
    start_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)
    first_ts: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
