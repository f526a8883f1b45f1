from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from failcast.slo import (
    EventSeries,
    SloDefinition,
    budget_status,
    burn_rate,
    burn_rates,
    events_from_counts,
    events_from_ratio,
    events_from_threshold,
    hours_to_exhaustion,
    ml_accuracy_slo,
    ml_drift_slo,
    threshold_for_budget_share,
)

DAY = 86_400_000


def test_burn_rate_is_error_ratio_over_budget() -> None:
    # 5 errors in 1000 requests against 99.9 %: 0.5 % / 0.1 % = 5
    assert burn_rate(5, 1000, 0.999) == pytest.approx(5.0)
    assert burn_rate(1, 100, 0.99) == pytest.approx(1.0)
    assert burn_rate(0, 0, 0.999) == 0.0
    with pytest.raises(ValueError, match="fraction"):
        burn_rate(1, 10, 99.9)


def test_workbook_thresholds_come_from_budget_shares() -> None:
    assert threshold_for_budget_share(0.02, 3_600_000, 30) == pytest.approx(14.4)
    assert threshold_for_budget_share(0.05, 6 * 3_600_000, 30) == pytest.approx(6.0)
    assert threshold_for_budget_share(0.10, 3 * DAY, 30) == pytest.approx(1.0)


def test_window_sums_are_half_open() -> None:
    series = events_from_counts([0, 60_000, 120_000], [10, 10, 10], bad=[1, 2, 3])
    bad, total = series.window_sums(120_000, [120_000])
    # (0, 120000] holds the last two buckets only.
    assert (bad[0], total[0]) == (5.0, 20.0)
    rates = burn_rates(series, 0.9, 60_000, [0, 60_000, 120_000, 180_000])
    assert rates == pytest.approx([1.0, 2.0, 3.0, 0.0])


def test_budget_over_the_window() -> None:
    # 30 daily buckets of 1000 requests; 400 bad in total against 99 %: budget 300 requests.
    ts = np.arange(1, 31) * DAY
    bad = np.zeros(30)
    bad[-4:] = 100
    series = events_from_counts(ts, np.full(30, 1000.0), bad=bad)
    status = budget_status(series, 0.99, 30, int(ts[-1]))
    assert status.total == 30_000 and status.bad == 400
    assert status.allowed_bad == pytest.approx(300.0)
    assert status.consumed == pytest.approx(400 / 300)
    assert status.remaining == pytest.approx(-1 / 3)
    assert status.exhausted
    assert status.sli == pytest.approx(29_600 / 30_000)
    # The 28-day window ending at the same instant leaves out the first two days only.
    short = budget_status(series, 0.99, 28, int(ts[-1]))
    assert short.total == 28_000 and short.consumed == pytest.approx(400 / 280)


def test_budget_without_events_is_untouched() -> None:
    empty = EventSeries.build([], [], [])
    status = budget_status(empty, 0.999, 30, 10 * DAY)
    assert (status.sli, status.consumed, status.remaining) == (None, 0.0, 1.0)


def test_hours_to_exhaustion() -> None:
    # 60 % left, burning at 2x: 0.6 * 720 h / 2 = 216 h
    assert hours_to_exhaustion(0.6, 2.0, 30) == pytest.approx(216.0)
    assert hours_to_exhaustion(0.6, 0.0, 30) is None
    assert hours_to_exhaustion(-0.1, 3.0, 30) == 0.0


def test_threshold_events_count_intervals_and_skip_gaps() -> None:
    series = events_from_threshold([1, 2, 3, 4], [0.95, 0.88, np.nan, 0.9], "gte", 0.9)
    assert series.good.tolist() == [1, 0, 0, 1]
    assert series.total.tolist() == [1, 1, 0, 1]
    drift = events_from_threshold([1, 2], [0.25, 0.2], "lte", 0.2)
    assert drift.good.tolist() == [0, 1]


def test_ratio_events_weigh_by_requests() -> None:
    series = events_from_ratio([1, 2, 3], [0.1, np.nan, 0.5], requests=[100, 50, 10])
    assert series.total.tolist() == [100, 0, 10]
    assert series.bad.tolist() == pytest.approx([10, 0, 5])
    success = events_from_ratio([1], [0.9], counts="good")
    assert success.bad.tolist() == pytest.approx([0.1])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        events_from_ratio([1], [1.5])


def test_event_series_rejects_inconsistent_counts() -> None:
    with pytest.raises(ValueError, match="good <= total"):
        EventSeries.build([1], [5], [4])
    with pytest.raises(ValueError, match="increasing"):
        EventSeries.build([2, 1], [0, 0], [1, 1])


def test_definition_validation_messages() -> None:
    body = {"name": "api-availability", "service": "api", "objective": 99.9, "sli": {}}
    with pytest.raises(ValidationError, match=r"write 0.999 for 99.9%"):
        SloDefinition.model_validate(body)
    body = {
        "name": "api-availability",
        "service": "api",
        "objective": 0.999,
        "window_days": 7,
        "sli": {"type": "events", "total": {"query": "t"}},
    }
    with pytest.raises(ValidationError) as caught:
        SloDefinition.model_validate(body)
    fields = {e["loc"][0] for e in caught.value.errors()}
    assert fields == {"window_days", "sli"}  # bad window; events SLI lacks good or bad


def test_ml_quality_presets() -> None:
    accuracy = ml_accuracy_slo("ranker")
    assert accuracy.sli.type == "threshold"
    assert (accuracy.sli.op, accuracy.sli.value, accuracy.objective) == ("gte", 0.9, 0.95)
    drift = ml_drift_slo("ranker", max_drift_share=0.2)
    assert (drift.sli.op, drift.sli.value) == ("lte", 0.2)
    assert drift.error_budget == pytest.approx(0.05)
