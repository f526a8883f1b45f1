"""Calendar, seasonal, ratio and missing-data features."""

from __future__ import annotations

import numpy as np
import pytest

from failcast.features import (
    day_of_week,
    errors_per_request,
    gap_indicator,
    hour_of_day,
    hour_of_week,
    is_peak,
    is_weekend,
    missing_indicator,
    safe_divide,
    seasonal_zscore,
    time_since_valid,
)
from failcast.features.interactions import cost_per_prediction

HOUR = 3_600_000
# 2024-01-01 00:00 UTC was a Monday.
MONDAY = 1_704_067_200_000


def test_calendar_of_known_dates() -> None:
    ts = np.array([MONDAY, MONDAY + 10 * HOUR, MONDAY + 5 * 24 * HOUR + 3 * HOUR])
    np.testing.assert_array_equal(hour_of_day(ts), [0, 10, 3])
    np.testing.assert_array_equal(day_of_week(ts), [0, 0, 5])
    np.testing.assert_array_equal(hour_of_week(ts), [0, 10, 123])
    np.testing.assert_array_equal(is_weekend(ts), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(is_peak(ts), [0.0, 1.0, 0.0])
    # 23:00 UTC is 01:00 the next day at UTC+2.
    assert hour_of_day([MONDAY - HOUR], utc_offset_minutes=120)[0] == 1


def test_safe_divide_never_returns_infinity() -> None:
    out = safe_divide([1.0, 1.0, np.nan, 6.0], [0.0, np.nan, 2.0, 3.0], default=-1.0)
    np.testing.assert_array_equal(out, [-1.0, -1.0, -1.0, 2.0])
    np.testing.assert_allclose(
        errors_per_request([0.0, 5.0, 1.0], [0.0, 100.0, 0.0]), [0.0, 0.05, np.nan]
    )
    np.testing.assert_allclose(cost_per_prediction([2.0], [4.0]), [0.5])
    with pytest.raises(ValueError):
        safe_divide([1.0], [1.0, 2.0])


def test_missing_indicators() -> None:
    x = np.array([np.nan, 1.0, np.inf, np.nan, 2.0])
    ts = np.arange(5) * 1000
    np.testing.assert_array_equal(missing_indicator(x), [1, 0, 1, 1, 0])
    np.testing.assert_allclose(time_since_valid(ts, x), [np.nan, 0, 1000, 2000, 0])


def test_gap_indicator_flags_late_samples_only() -> None:
    ts = np.array([0, 60, 120, 180, 600, 660, 720]) * 1000
    np.testing.assert_array_equal(gap_indicator(ts), [0, 0, 0, 0, 1, 0, 0])


def test_seasonal_zscore_compares_with_same_hour_of_previous_days() -> None:
    days = 6
    ts = MONDAY + np.arange(days * 24) * HOUR
    # Every hour has its own level; the last day's 10:00 value jumps by 12.
    x = (
        np.tile(np.arange(24) * 10.0, days)
        + np.tile([0.0, 1.0, -1.0, 0.5, -0.5, 0.0], 24)[: days * 24]
    )
    x[5 * 24 + 10] += 12.0
    z = seasonal_zscore(ts, x, season="hour_of_day", history=5, min_history=3)
    assert np.isnan(z[:72]).all()  # fewer than three earlier days at each hour
    assert z[5 * 24 + 10] > 5.0
    others = np.delete(z[72:], 5 * 24 + 10 - 72)
    assert np.nanmax(np.abs(others)) < 3.0


def test_seasonal_zscore_is_causal() -> None:
    rng = np.random.default_rng(0)
    ts = MONDAY + np.arange(400) * HOUR
    x = rng.normal(size=400)
    whole = seasonal_zscore(ts, x, season="hour_of_day")
    for cut in (50, 200, 399):
        np.testing.assert_allclose(
            seasonal_zscore(ts[:cut], x[:cut], season="hour_of_day"), whole[:cut]
        )
