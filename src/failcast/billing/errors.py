"""The billing domain's errors: plan limits (402), rates (429) and the payment provider."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from failcast.errors import FailcastError


def quota_headers(limit: int, remaining: int, reset: datetime) -> dict[str, str]:
    """X-Failcast-Quota-* headers: the limit, what is left, and when it resets (Unix seconds)."""
    return {
        "X-Failcast-Quota-Limit": str(limit),
        "X-Failcast-Quota-Remaining": str(max(0, remaining)),
        "X-Failcast-Quota-Reset": str(int(reset.timestamp())),
    }


class PlanLimitReached(FailcastError):
    """The org's plan allows no more of something; upgrading lifts the limit."""

    status_code = 402

    def __init__(
        self, *, quota: str, plan: str, limit: int, used: int, reset: datetime, msg: str
    ) -> None:
        detail: dict[str, Any] = {
            "msg": msg,
            "quota": quota,
            "plan": plan,
            "limit": limit,
            "used": used,
            "upgrade": "POST /api/v1/billing/checkout",
        }
        super().__init__(detail, headers=quota_headers(limit, limit - used, reset))


class RateLimitExceeded(FailcastError):
    """More than the plan's rate in the current window; retry after the reset."""

    status_code = 429

    def __init__(
        self, *, quota: str, plan: str, limit: int, used: int, reset: datetime, now: datetime
    ) -> None:
        detail = {
            "msg": f"the {plan} plan accepts {limit} {quota} a minute; retry after the reset",
            "quota": quota,
            "plan": plan,
            "limit": limit,
            "used": used,
        }
        headers = quota_headers(limit, limit - used, reset)
        headers["Retry-After"] = str(max(1, int((reset - now).total_seconds() + 0.999)))
        super().__init__(detail, headers=headers)


class BadSignature(FailcastError):
    """A webhook whose Stripe-Signature does not match its body and the endpoint secret."""

    status_code = 400


class BillingNotConfigured(FailcastError):
    """Stripe keys or price ids are missing on this server."""

    status_code = 503


class PaymentProviderError(FailcastError):
    """Stripe refused or could not be reached."""

    status_code = 502
