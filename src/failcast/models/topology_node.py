from __future__ import annotations

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base


class TopologyNode(Base):
    """A service declared in an org's dependency topology, with its attributes."""

    __tablename__ = "topology_node"
    __table_args__ = (UniqueConstraint("org_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    tier: Mapped[int] = mapped_column(Integer)
    entry_point: Mapped[bool] = mapped_column(Boolean, default=False)
    traffic: Mapped[float] = mapped_column(Float, default=0.0)
