from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base


class SeriesLabel(Base):
    """One (name, value) label of one series: the inverted index that selectors read.

    The index on (org_id, name, value, series_id) answers "series whose `name` is `value`"
    and, walked in order, "the distinct values of `name`", without reading the series of a
    metric one by one. Empty values are not stored: a label with an empty value is the same as
    no label, as in Prometheus. The metric and the service are columns of `series`, not rows
    here.
    """

    __tablename__ = "series_label"
    __table_args__ = (
        Index("ix_series_label_org_id_name_value", "org_id", "name", "value", "series_id"),
        {"sqlite_with_rowid": False},
    )

    series_id: Mapped[int] = mapped_column(
        ForeignKey("series.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    org_id: Mapped[int] = mapped_column()
    value: Mapped[str] = mapped_column(String(1000))
