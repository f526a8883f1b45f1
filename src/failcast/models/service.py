from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, EnumText, UTCDateTime, utcnow

# The kinds as text, for schemas and pure code that take them as plain strings.
ServiceKindName = Literal["microservice", "ml_model", "data_pipeline"]


class ServiceKind(StrEnum):
    microservice = "microservice"
    ml_model = "ml_model"
    data_pipeline = "data_pipeline"


class Service(Base):
    """Something monitored: a microservice, an ML model or a data pipeline."""

    __tablename__ = "service"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(128))
    kind: Mapped[ServiceKind] = mapped_column(
        EnumText(ServiceKind), default=ServiceKind.microservice
    )
    team: Mapped[str | None] = mapped_column(String(128))
    tier: Mapped[int | None] = mapped_column()
    owner: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
