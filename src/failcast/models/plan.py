from __future__ import annotations

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base


class Plan(Base):
    """A price plan and its limits; `None` means unlimited. Seeded by the billing migration.

    `Organization.plan` holds a plan's `code`. A `custom` plan's limits are negotiated per org
    and come from that org's subscription overrides.
    """

    __tablename__ = "plan"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    price_cents: Mapped[int] = mapped_column(Integer)
    max_services: Mapped[int | None] = mapped_column(Integer)
    max_predictions_per_month: Mapped[int | None] = mapped_column(Integer)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    max_samples_per_minute: Mapped[int | None] = mapped_column(Integer)
    custom: Mapped[bool] = mapped_column(Boolean, default=False)
