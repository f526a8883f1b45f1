from __future__ import annotations

from typing import Literal

from sqlalchemy import Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, ChoiceText

# How a caller fares when the dependency fails: no fallback, graceful, almost never on the path.
Criticality = Literal["hard", "soft", "optional"]


class TopologyEdge(Base):
    """A declared dependency: `service` calls `depends_on`."""

    __tablename__ = "topology_edge"
    __table_args__ = (UniqueConstraint("org_id", "service", "depends_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    service: Mapped[str] = mapped_column(String(200))
    depends_on: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    criticality: Mapped[Criticality] = mapped_column(ChoiceText(Criticality), default="hard")
    weight: Mapped[float | None] = mapped_column(Float)
