"""Plan limits and calendar months: pure rules, no I/O.

A limit of `None` is unlimited. A custom plan (Enterprise) takes its limits from the org's
negotiated overrides; any limit an override leaves out keeps the plan's own value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any

FREE = "free"
LIMIT_FIELDS = (
    "max_services",
    "max_predictions_per_month",
    "retention_days",
    "max_samples_per_minute",
)


@dataclass(frozen=True, slots=True)
class Limits:
    """What one org may use; None means no limit."""

    plan: str
    max_services: int | None
    max_predictions_per_month: int | None
    retention_days: int | None
    max_samples_per_minute: int | None

    def as_dict(self) -> dict[str, int | None]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "plan"}


def limits_for(plan: Any, overrides: Mapping[str, Any] | None = None) -> Limits:
    """The limits of a `Plan` row (or anything with its attributes), with per-org overrides."""
    limits = Limits(
        plan=str(plan.code),
        max_services=plan.max_services,
        max_predictions_per_month=plan.max_predictions_per_month,
        retention_days=plan.retention_days,
        max_samples_per_minute=plan.max_samples_per_minute,
    )
    chosen = {k: v for k, v in (overrides or {}).items() if k in LIMIT_FIELDS}
    for name, value in chosen.items():
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValueError(f"{name} must be a non-negative whole number or null")
    return replace(limits, **chosen) if chosen else limits


def month_key(at: datetime) -> str:
    """`YYYY-MM` of the UTC month holding `at`."""
    return at.astimezone(UTC).strftime("%Y-%m")


def month_start(at: datetime) -> datetime:
    at = at.astimezone(UTC)
    return datetime(at.year, at.month, 1, tzinfo=UTC)


def next_month_start(at: datetime) -> datetime:
    """Midnight UTC on the first day of the month after `at`'s: when monthly quotas reset."""
    at = at.astimezone(UTC)
    if at.month == 12:
        return datetime(at.year + 1, 1, 1, tzinfo=UTC)
    return datetime(at.year, at.month + 1, 1, tzinfo=UTC)


def remaining(limit: int | None, used: int) -> int | None:
    return None if limit is None else max(0, limit - used)
