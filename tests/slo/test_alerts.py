from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from failcast.slo import (
    EventSeries,
    EventsSli,
    MetricRef,
    MinTrafficGuard,
    SloAlerting,
    SloDefinition,
    alert_timeline,
    evaluate_slo,
    evaluate_tiers,
    events_from_counts,
    loudest,
)

MINUTE = 60_000
HISTORY = 3 * 24 * 60  # three clean days before anything happens, in one-minute buckets
OBJECTIVE = 0.999  # budget: 1 bad request in 1000


def minutes(bad_per_1000: npt.ArrayLike) -> EventSeries:
    """1000 requests a minute; the given bad counts end the series after a clean history."""
    bad = np.concatenate((np.zeros(HISTORY), np.asarray(bad_per_1000, dtype=float)))
    ts = np.arange(len(bad), dtype=np.int64) * MINUTE
    return events_from_counts(ts, np.full(len(bad), 1000.0), bad=bad)


def firing_now(series: EventSeries) -> set[str]:
    at = int(series.timestamps[-1])
    return {e.tier.name for e in evaluate_tiers(series, OBJECTIVE, at) if e.firing}


def test_fast_burn_pages_on_the_one_hour_tier_only() -> None:
    # 2 % errors for an hour: burn 20 over 1 h and 5 m; 20 * 60 / 360 = 3.3 over 6 h.
    assert firing_now(minutes(np.full(60, 20.0))) == {"page-1h"}


def test_medium_burn_pages_on_the_six_hour_tier_only() -> None:
    # 0.8 % for six hours: burn 8 (> 6, < 14.4); over 3 d 8 * 360 / 4320 = 0.67.
    assert firing_now(minutes(np.full(360, 8.0))) == {"page-6h"}


def test_slow_burn_opens_a_ticket_only() -> None:
    # 0.15 % for three days: burn 1.5 over 3 d and 6 h, far below the paging tiers.
    assert firing_now(minutes(np.full(HISTORY, 1.5))) == {"ticket-3d"}


def test_burn_just_below_each_threshold_fires_nothing() -> None:
    assert firing_now(minutes(np.full(60, 14.0))) == set()
    assert firing_now(minutes(np.full(360, 5.9))) == set()
    assert firing_now(minutes(np.full(HISTORY, 0.99))) == set()


def test_short_window_silences_a_fixed_incident() -> None:
    # An hour at burn 20, then ten clean minutes: 1 h burn is still 16.7, 5 m burn is 0.
    series = minutes(np.concatenate((np.full(60, 20.0), np.zeros(10))))
    evaluation = evaluate_tiers(series, OBJECTIVE, int(series.timestamps[-1]))[0]
    assert evaluation.long_burn == pytest.approx(20 * 50 / 60)
    assert evaluation.short_burn == 0.0
    assert not evaluation.firing


def test_timeline_starts_and_stops_each_tier_at_the_hand_computed_minute() -> None:
    # Burn 20 for 120 minutes starting at minute T, then clean.
    series = minutes(np.concatenate((np.full(120, 20.0), np.zeros(180))))
    timeline = alert_timeline(series, OBJECTIVE)
    start = HISTORY

    def firing_minutes(name: str) -> list[int]:
        indices = np.flatnonzero(timeline[name]) - start
        return [int(indices[0]), int(indices[-1]), len(indices)]

    # page-1h: 1 h burn 20k/60 > 14.4 from k = 44 bad minutes (minute 43); the 5 m window
    # keeps >= 4 bad minutes (burn 16) up to minute 120.
    assert firing_minutes("page-1h") == [43, 120, 78]
    # page-6h: 6 h burn 20k/360 > 6 from k = 109 (minute 108); 30 m burn > 6 needs >= 10 bad
    # minutes in the last 30, true up to minute 139.
    assert firing_minutes("page-6h") == [108, 139, 32]
    # ticket-3d would need k > 216 bad minutes.
    assert not timeline["ticket-3d"].any()


def sparse(errors_at: list[int], every: int = 6, length: int = 60) -> EventSeries:
    """One request every `every` minutes (10 an hour), failing at the given minutes."""
    ts = np.arange(length, dtype=np.int64) * MINUTE + 10 * 24 * 60 * MINUTE
    total = np.array([1.0 if m % every == every - 1 else 0.0 for m in range(length)])
    bad = np.array([1.0 if m in errors_at else 0.0 for m in range(length)])
    return events_from_counts(ts, total, bad=bad)


def test_minimum_traffic_guard_holds_back_a_single_error() -> None:
    series = sparse([59])  # 10 requests in the hour, the last one failed: burn 100
    at = int(series.timestamps[-1])
    page = evaluate_tiers(series, OBJECTIVE, at)[0]
    assert page.burning and page.guarded and not page.firing
    assert (page.long_bad, page.long_total) == (1.0, 10.0)
    unguarded = MinTrafficGuard(min_events=0, min_bad_events=1)
    assert evaluate_tiers(series, OBJECTIVE, at, guard=unguarded)[0].firing


def test_minimum_traffic_guard_lets_three_errors_page() -> None:
    series = sparse([47, 53, 59])
    evaluations = evaluate_tiers(series, OBJECTIVE, int(series.timestamps[-1]))
    assert {e.tier.name for e in evaluations if e.firing} == {"page-1h", "page-6h", "ticket-3d"}
    assert loudest(evaluations) == "page"


def test_guard_does_not_apply_once_traffic_is_high() -> None:
    # 120 requests in the hour (>= 100): two errors in the last minute page without the guard.
    ts = np.arange(60, dtype=np.int64) * MINUTE + 10 * 24 * 60 * MINUTE
    bad = np.zeros(60)
    bad[-1] = 2
    series = events_from_counts(ts, np.full(60, 2.0), bad=bad)
    page = evaluate_tiers(series, OBJECTIVE, int(ts[-1]))[0]
    assert page.long_total == 120 and page.long_bad == 2
    assert page.firing


def test_evaluate_slo_respects_disabled_tiers_and_reports_budget() -> None:
    slo = SloDefinition(
        name="api-availability",
        service="api",
        objective=OBJECTIVE,
        sli=EventsSli(bad=MetricRef(query="errors"), total=MetricRef(query="requests")),
        alerting=SloAlerting(page=False),
    )
    series = minutes(np.full(HISTORY, 1.5))
    status = evaluate_slo(slo, series, int(series.timestamps[-1]))
    assert [t.tier.name for t in status.tiers] == ["ticket-3d"]
    assert status.severity == "ticket"
    assert status.burn_rate_1h == pytest.approx(1.5)
    # 30-day window: 3 days at 1.5 over 6 days of data, budget 0.001 * 6 * 1440 * 1000
    assert status.budget.consumed == pytest.approx(1.5 * 3 * 1440 / (6 * 1440 * 1000 * 0.001))
    left = 1 - status.budget.consumed
    assert status.hours_to_exhaustion == pytest.approx(left * 720 / 1.5)
