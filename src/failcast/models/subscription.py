from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from failcast.db.base import Base, UTCDateTime, utcnow
from failcast.models._types import Json


class Subscription(Base):
    """An org's billing state: its Stripe customer and subscription, and per-org limits.

    `event_created` is the Stripe `created` time of the newest event applied, so an older
    event that arrives late cannot undo a newer one. `grace_until` is set by a failed payment;
    past it, the org falls back to the free plan.
    """

    __tablename__ = "subscription"

    org_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255))
    plan: Mapped[str] = mapped_column(String(40), default="free")
    status: Mapped[str] = mapped_column(String(40), default="none")
    current_period_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    grace_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    event_created: Mapped[int] = mapped_column(BigInteger, default=0)
    # Negotiated limits of a custom plan: {"max_services": 500, "retention_days": 400, ...}.
    overrides: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
