"""Multi-window, multi-burn-rate alerts (Google SRE workbook, chapter 5, alert number 6).

A tier fires when the burn rate exceeds its threshold over both its long window (the budget is
really being spent) and its short window (it still is, so the alert stops soon after a fix):

    page    burn > 14.4 over 1 h and 5 m     (2 % of a 30-day budget in an hour)
    page    burn > 6    over 6 h and 30 m    (5 % in six hours)
    ticket  burn > 1    over 3 d and 6 h     (10 % in three days)

The minimum-traffic guard (`MinTrafficGuard`) stops a sparse service from paging on one error:
when the long window holds fewer than `min_events` events, the tier also needs at least
`min_bad_events` bad events in it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from failcast.slo.budget import (
    DAY_MS,
    HOUR_MS,
    BudgetStatus,
    EventSeries,
    budget_status,
    burn_rates,
    hours_to_exhaustion,
)
from failcast.slo.schemas import MinTrafficGuard, SloDefinition

Severity = Literal["page", "ticket"]
MINUTE_MS = 60_000


@dataclass(frozen=True, slots=True)
class BurnRateTier:
    """One alerting tier: threshold, long and short window, and how loud it is."""

    name: str
    severity: Severity
    burn_rate: float
    long_window_ms: int
    short_window_ms: int


DEFAULT_TIERS: tuple[BurnRateTier, ...] = (
    BurnRateTier("page-1h", "page", 14.4, HOUR_MS, 5 * MINUTE_MS),
    BurnRateTier("page-6h", "page", 6.0, 6 * HOUR_MS, 30 * MINUTE_MS),
    BurnRateTier("ticket-3d", "ticket", 1.0, 3 * DAY_MS, 6 * HOUR_MS),
)


def threshold_for_budget_share(share: float, long_window_ms: int, window_days: int) -> float:
    """Burn rate that spends `share` of the budget within `long_window_ms` (2 %, 1 h -> 14.4).

    >>> threshold_for_budget_share(0.02, 3_600_000, window_days=30)
    14.4
    """
    return share * window_days * DAY_MS / long_window_ms


@dataclass(frozen=True, slots=True)
class TierEvaluation:
    """Why a tier does or does not fire at one instant."""

    tier: BurnRateTier
    long_burn: float
    short_burn: float
    long_bad: float
    long_total: float
    burning: bool  # both windows above the threshold
    guarded: bool  # burning, but held back by the minimum-traffic guard

    @property
    def firing(self) -> bool:
        return self.burning and not self.guarded


@dataclass(frozen=True, slots=True)
class _TierArrays:
    long_burn: npt.NDArray[np.float64]
    short_burn: npt.NDArray[np.float64]
    long_bad: npt.NDArray[np.float64]
    long_total: npt.NDArray[np.float64]
    burning: npt.NDArray[np.bool_]
    guarded: npt.NDArray[np.bool_]


def _tier_arrays(
    series: EventSeries,
    objective: float,
    tier: BurnRateTier,
    at: npt.NDArray[np.int64],
    guard: MinTrafficGuard,
) -> _TierArrays:
    long_burn = burn_rates(series, objective, tier.long_window_ms, at)
    short_burn = burn_rates(series, objective, tier.short_window_ms, at)
    long_bad, long_total = series.window_sums(tier.long_window_ms, at)
    # Strictly above the threshold, as in the workbook's Prometheus rules.
    burning = (long_burn > tier.burn_rate) & (short_burn > tier.burn_rate)
    guarded = burning & (long_total < guard.min_events) & (long_bad < guard.min_bad_events)
    return _TierArrays(long_burn, short_burn, long_bad, long_total, burning, guarded)


def evaluate_tiers(
    series: EventSeries,
    objective: float,
    at_ms: int,
    tiers: Sequence[BurnRateTier] = DEFAULT_TIERS,
    guard: MinTrafficGuard | None = None,
) -> list[TierEvaluation]:
    """Every tier's state at `at_ms`."""
    guard = guard or MinTrafficGuard()
    at = np.array([at_ms], dtype=np.int64)
    evaluations: list[TierEvaluation] = []
    for tier in tiers:
        a = _tier_arrays(series, objective, tier, at, guard)
        evaluations.append(
            TierEvaluation(
                tier,
                float(a.long_burn[0]),
                float(a.short_burn[0]),
                float(a.long_bad[0]),
                float(a.long_total[0]),
                bool(a.burning[0]),
                bool(a.guarded[0]),
            )
        )
    return evaluations


def alert_timeline(
    series: EventSeries,
    objective: float,
    at_ms: npt.ArrayLike | None = None,
    tiers: Sequence[BurnRateTier] = DEFAULT_TIERS,
    guard: MinTrafficGuard | None = None,
) -> dict[str, npt.NDArray[np.bool_]]:
    """For each tier name, whether it fires at each instant (by default every bucket time)."""
    guard = guard or MinTrafficGuard()
    at = series.timestamps if at_ms is None else np.asarray(at_ms, dtype=np.int64)
    timeline: dict[str, npt.NDArray[np.bool_]] = {}
    for tier in tiers:
        a = _tier_arrays(series, objective, tier, at, guard)
        timeline[tier.name] = a.burning & ~a.guarded
    return timeline


def loudest(evaluations: Sequence[TierEvaluation]) -> Severity | None:
    """`page` if any paging tier fires, else `ticket` if a ticket tier does, else None."""
    severities = {e.tier.severity for e in evaluations if e.firing}
    if "page" in severities:
        return "page"
    return "ticket" if "ticket" in severities else None


@dataclass(frozen=True, slots=True)
class SloStatus:
    """Budget, burn rates and alert state of one SLO at one instant."""

    slo: SloDefinition
    budget: BudgetStatus
    tiers: tuple[TierEvaluation, ...]
    severity: Severity | None
    burn_rate_1h: float
    hours_to_exhaustion: float | None  # at the last hour's burn rate


def evaluate_slo(
    slo: SloDefinition,
    series: EventSeries,
    at_ms: int,
    tiers: Sequence[BurnRateTier] = DEFAULT_TIERS,
) -> SloStatus:
    """Everything a dashboard or the risk engine needs to know about one SLO now."""
    budget = budget_status(series, slo.objective, slo.window_days, at_ms)
    enabled = [
        t
        for t in tiers
        if (t.severity == "page" and slo.alerting.page)
        or (t.severity == "ticket" and slo.alerting.ticket)
    ]
    evaluations = evaluate_tiers(series, slo.objective, at_ms, enabled, slo.alerting.guard)
    burn_1h = float(burn_rates(series, slo.objective, HOUR_MS, [at_ms])[0])
    return SloStatus(
        slo=slo,
        budget=budget,
        tiers=tuple(evaluations),
        severity=loudest(evaluations),
        burn_rate_1h=burn_1h,
        hours_to_exhaustion=hours_to_exhaustion(budget.remaining, burn_1h, slo.window_days),
    )
