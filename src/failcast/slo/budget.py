"""SLI events over time, error budgets and burn rates.

Everything reduces to an `EventSeries`: per bucket (a minute, an evaluation interval) the number
of good and of all events. Window sums cover the half-open interval (t - window, t].

    error budget   = 1 - objective
    burn rate      = (bad / total) / (1 - objective)     over a window; 0 when total is 0
    budget used    = bad / ((1 - objective) * total)     over the SLO window
    remaining      = 1 - budget used                     (negative once overspent)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from failcast.slo.schemas import Comparison

DAY_MS = 86_400_000
HOUR_MS = 3_600_000

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EventSeries:
    """Good and total event counts per bucket, at strictly increasing epoch-millisecond times."""

    timestamps: IntArray
    good: FloatArray
    total: FloatArray

    def __post_init__(self) -> None:
        ts, good, total = self.timestamps, self.good, self.total
        if not (ts.ndim == good.ndim == total.ndim == 1 and len(ts) == len(good) == len(total)):
            raise ValueError("timestamps, good and total must be 1-D arrays of the same length")
        if len(ts) > 1 and not bool(np.all(np.diff(ts) > 0)):
            raise ValueError("timestamps must be strictly increasing")
        if not (np.all(np.isfinite(good)) and np.all(np.isfinite(total))):
            raise ValueError("event counts must be finite")
        if bool(np.any(good < 0)) or bool(np.any(good > total)):
            raise ValueError("event counts need 0 <= good <= total")

    @classmethod
    def build(
        cls,
        timestamps: npt.ArrayLike,
        good: npt.ArrayLike,
        total: npt.ArrayLike,
    ) -> EventSeries:
        """Series from anything array-like."""
        return cls(
            np.asarray(timestamps, dtype=np.int64),
            np.asarray(good, dtype=np.float64),
            np.asarray(total, dtype=np.float64),
        )

    @property
    def bad(self) -> FloatArray:
        return self.total - self.good

    def window_sums(self, window_ms: int, at_ms: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        """(bad, total) summed over (t - window, t] for every t in `at_ms`."""
        at = np.atleast_1d(np.asarray(at_ms, dtype=np.int64))
        cum_total = np.concatenate(([0.0], np.cumsum(self.total)))
        cum_bad = np.concatenate(([0.0], np.cumsum(self.bad)))
        hi = np.searchsorted(self.timestamps, at, side="right")
        lo = np.searchsorted(self.timestamps, at - window_ms, side="right")
        return cum_bad[hi] - cum_bad[lo], cum_total[hi] - cum_total[lo]


def burn_rate(bad: float, total: float, objective: float) -> float:
    """How many times faster than sustainable the budget is spent; 0 without events.

    >>> round(burn_rate(bad=2, total=1000, objective=0.999), 6)  # 0.2 % bad for a 0.1 % budget
    2.0
    """
    _check_objective(objective)
    if total <= 0:
        return 0.0
    return (bad / total) / (1.0 - objective)


def burn_rates(
    series: EventSeries, objective: float, window_ms: int, at_ms: npt.ArrayLike
) -> FloatArray:
    """Burn rate over (t - window, t] for every t; 0 where the window holds no events."""
    _check_objective(objective)
    bad, total = series.window_sums(window_ms, at_ms)
    ratio = np.divide(bad, total, out=np.zeros_like(bad), where=total > 0)
    return ratio / (1.0 - objective)


@dataclass(frozen=True, slots=True)
class BudgetStatus:
    """The error budget of one SLO over its window, ending at `at_ms`."""

    objective: float
    window_days: int
    at_ms: int
    total: float
    bad: float
    sli: float | None  # good / total, None without events
    allowed_bad: float  # (1 - objective) * total
    consumed: float  # share of the budget spent; equals the window's burn rate
    remaining: float  # 1 - consumed, negative once overspent

    @property
    def exhausted(self) -> bool:
        return self.remaining <= 0.0


def budget_status(
    series: EventSeries, objective: float, window_days: int, at_ms: int
) -> BudgetStatus:
    """Budget spent and left over the `window_days` ending at `at_ms`."""
    _check_objective(objective)
    bad_arr, total_arr = series.window_sums(window_days * DAY_MS, [at_ms])
    bad, total = float(bad_arr[0]), float(total_arr[0])
    allowed = (1.0 - objective) * total
    consumed = bad / allowed if allowed > 0 else 0.0
    sli = (total - bad) / total if total > 0 else None
    return BudgetStatus(
        objective, window_days, at_ms, total, bad, sli, allowed, consumed, 1 - consumed
    )


def hours_to_exhaustion(remaining: float, current_burn: float, window_days: int) -> float | None:
    """Hours until the budget runs out at `current_burn`; None when it is not being spent.

    A burn rate of 1 spends the whole budget in one window, so a share r lasts r * window / burn.

    >>> hours_to_exhaustion(0.5, current_burn=2.0, window_days=30)
    180.0
    >>> hours_to_exhaustion(0.5, current_burn=0.0, window_days=30) is None
    True
    """
    if remaining <= 0.0:
        return 0.0
    if current_burn <= 0.0:
        return None
    return remaining * window_days * 24.0 / current_burn


def events_from_counts(
    timestamps: npt.ArrayLike,
    total: npt.ArrayLike,
    *,
    good: npt.ArrayLike | None = None,
    bad: npt.ArrayLike | None = None,
) -> EventSeries:
    """Series from per-bucket counts of good or bad events and of all events."""
    if (good is None) == (bad is None):
        raise ValueError("give exactly one of good or bad")
    total_arr = np.asarray(total, dtype=np.float64)
    good_arr = (
        np.asarray(good, dtype=np.float64)
        if good is not None
        else total_arr - np.asarray(bad, dtype=np.float64)
    )
    return EventSeries.build(timestamps, good_arr, total_arr)


def events_from_ratio(
    timestamps: npt.ArrayLike,
    ratio: npt.ArrayLike,
    *,
    counts: str = "bad",
    requests: npt.ArrayLike | None = None,
) -> EventSeries:
    """Series from an error (or success) rate per interval, weighted by request counts if known.

    Without request counts every interval weighs one event. NaN rates are intervals without data.
    """
    rate = np.asarray(ratio, dtype=np.float64)
    missing = np.isnan(rate)
    if bool(np.any((rate[~missing] < 0) | (rate[~missing] > 1))):
        raise ValueError("rates must lie in [0, 1]")
    weight = np.ones_like(rate) if requests is None else np.asarray(requests, dtype=np.float64)
    weight = np.where(missing, 0.0, weight)
    bad_share = np.where(missing, 0.0, rate if counts == "bad" else 1.0 - rate)
    return EventSeries.build(timestamps, weight * (1.0 - bad_share), weight)


def events_from_threshold(
    timestamps: npt.ArrayLike, values: npt.ArrayLike, op: Comparison, bound: float
) -> EventSeries:
    """One event per interval, good when `value op bound` holds; NaN values are no event.

    This is how latency percentiles per interval (p99 <= 200 ms) and ML quality (accuracy >= 0.9,
    drift share <= 0.2) become events.
    """
    data = np.asarray(values, dtype=np.float64)
    present = ~np.isnan(data)
    compare = {"gte": np.greater_equal, "gt": np.greater, "lte": np.less_equal, "lt": np.less}[op]
    good = present & compare(np.where(present, data, 0.0), bound)
    return EventSeries.build(timestamps, good.astype(np.float64), present.astype(np.float64))


def _check_objective(objective: float) -> None:
    if not (math.isfinite(objective) and 0.0 < objective < 1.0):
        raise ValueError(f"objective must be a fraction in (0, 1), got {objective!r}")
