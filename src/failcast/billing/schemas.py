from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class PlanOut(BaseModel):
    code: str
    name: str
    price_usd_per_month: float
    max_services: int | None = Field(description="null: unlimited")
    max_predictions_per_month: int | None = Field(description="null: unlimited")
    retention_days: int | None = Field(description="null: kept until deleted")
    max_samples_per_minute: int | None = Field(description="null: unlimited")
    custom: bool = Field(description="Limits negotiated per organisation.")


class PlanList(BaseModel):
    plans: list[PlanOut]


class UsageOut(BaseModel):
    month: str
    services: int
    predictions: int
    samples: int


class LimitsOut(BaseModel):
    max_services: int | None
    max_predictions_per_month: int | None
    retention_days: int | None
    max_samples_per_minute: int | None


class BillingOut(BaseModel):
    plan: PlanOut
    status: str = Field(description="none, active, trialing, past_due, unpaid, canceled, ...")
    limits: LimitsOut
    usage: UsageOut
    resets_at: datetime = Field(description="When this month's usage starts again from zero.")
    grace_until: datetime | None
    current_period_end: datetime | None
    has_customer: bool
    metered: bool = Field(
        description="Whether plan limits apply and usage is counted (FAILCAST_BILLING_ENABLED);"
        " when false, `usage` holds only the service count and `limits` do not apply."
    )


class CheckoutIn(BaseModel):
    plan: Literal["starter", "professional", "enterprise"]
    success_url: str | None = Field(default=None, max_length=2000)
    cancel_url: str | None = Field(default=None, max_length=2000)


class PortalIn(BaseModel):
    return_url: str | None = Field(default=None, max_length=2000)


class RedirectOut(BaseModel):
    url: str
    id: str | None = None


class WebhookOut(BaseModel):
    received: bool
    outcome: str


class OrgUsageOut(BaseModel):
    org_id: int
    name: str
    plan: str
    status: str
    services: int
    predictions: int
    samples: int
    limits: LimitsOut


class UsageReport(BaseModel):
    month: str
    orgs: list[OrgUsageOut]
    next_cursor: str | None


class LimitsIn(BaseModel):
    """Per-org limits of a custom plan; null lifts a limit, a missing field keeps the plan's."""

    max_services: int | None = Field(default=None, ge=0)
    max_predictions_per_month: int | None = Field(default=None, ge=0)
    retention_days: int | None = Field(default=None, ge=1)
    max_samples_per_minute: int | None = Field(default=None, ge=0)
