from __future__ import annotations

from sqlalchemy import BigInteger
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base
from failcast.models._types import BigId


class SampleRollupDirty(Base):
    """An hour that received samples since its rollup was last computed.

    Every sample write appends one row per hour it touched, in its own transaction; the rollup
    job consumes the rows and recomputes those hours. Append-only rows, not one row per hour,
    so that concurrent writers never wait on each other's lock.
    """

    __tablename__ = "sample_rollup_dirty"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    hour_ts: Mapped[int] = mapped_column(BigInteger, index=True)
