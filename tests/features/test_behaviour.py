"""Behaviour features: free of units, oriented, causal; counters as rates."""

from __future__ import annotations

import numpy as np
import pytest

from failcast.features.behaviour import BEHAVIOUR, behaviour, counter_rate, hours_to

PPH = 12  # the default grid: five minutes
TS = np.arange(10 * 24 * PPH, dtype=np.int64) * 300_000


def series(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = 50 + 5 * np.sin(np.arange(len(TS)) * 2 * np.pi / (24 * PPH)) + rng.normal(0, 1, len(TS))
    x[-300:] += np.linspace(0, 30, 300)  # a leak in the last day
    x[[100, 101, 2000]] = np.nan
    return x


def test_every_feature_is_free_of_the_series_unit() -> None:
    x = series()
    a = behaviour(TS, x, direction=1, limit=100.0)
    b = behaviour(TS, x / 100.0, direction=1, limit=1.0)  # a percentage read as a ratio
    assert set(a) == set(BEHAVIOUR)
    for name in BEHAVIOUR:
        np.testing.assert_allclose(a[name], b[name], rtol=1e-6, atol=1e-6, err_msg=name)


def test_features_are_oriented_so_that_more_is_worse() -> None:
    x = series()
    rising_bad = behaviour(TS, x, direction=1)
    falling_bad = behaviour(TS, -x, direction=-1)
    for name in ("level", "shift", "trend", "trend_day", "seasonal", "creep"):
        np.testing.assert_allclose(
            rising_bad[name], falling_bad[name], rtol=1e-9, atol=1e-9, err_msg=name
        )
    assert rising_bad["level"][-1] > 3 and rising_bad["trend"][-1] > 1


@pytest.mark.parametrize("cut", [50, 700, 1500, len(TS) - 1])
def test_a_prefix_gets_exactly_the_first_values_of_the_whole(cut: int) -> None:
    x = series()
    whole = behaviour(TS, x, direction=0)
    prefix = behaviour(TS[:cut], x[:cut], direction=0)
    for name in BEHAVIOUR:
        np.testing.assert_array_equal(prefix[name], whole[name][:cut], err_msg=name)


def test_headroom_counts_hours_to_the_limit_along_the_trend() -> None:
    level = np.array([50.0, 90.0, 100.0, 50.0])
    per_hour = np.array([5.0, 1.0, 1.0, -1.0])
    np.testing.assert_allclose(hours_to(level, per_hour, 100.0, 1), [10.0, 10.0, 0.0, 240.0])
    # A flat series sitting at its own record is not heading anywhere.
    assert hours_to(np.array([5.0]), np.array([0.0]), 5.0, 1)[0] == 240.0
    x = series()
    cols = behaviour(TS, x, direction=1, limit=100.0)
    assert cols["headroom_h"][-1] < 24  # the leak reaches 100 within a day
    assert cols["used"][-1] == pytest.approx(np.nanmean(x[-PPH:]) / 100.0)


def test_a_counter_becomes_its_rate_and_a_restart_is_flagged() -> None:
    ts = np.arange(6, dtype=np.int64) * 10_000  # ten seconds apart
    total = np.array([0.0, 50.0, 100.0, np.nan, 20.0, 70.0])  # restarted between 100 and 20
    rate, restart = counter_rate(ts, total)
    np.testing.assert_allclose(rate, [np.nan, 5.0, 5.0, np.nan, 1.0, 5.0])
    assert restart.tolist() == [0, 0, 0, 0, 1, 0]
    cols = behaviour(ts, rate, restarts=restart, step_ms=3_600_000)
    assert cols["restarts"][-1] == 1
    assert cols["missing"][3] == 1.0
