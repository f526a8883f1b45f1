from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class MitigationPlaybook(Base):
    """An org's own recommendations for one incident type, replacing the shipped defaults."""

    __tablename__ = "mitigation_playbook"
    __table_args__ = (UniqueConstraint("org_id", "incident_type"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    incident_type: Mapped[str] = mapped_column(String(40))
    steps: Mapped[list[str]] = mapped_column(Json)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
