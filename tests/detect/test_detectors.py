"""What each detector notices, and what it lets pass."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from failcast.detect import Thresholded, create, quantile_threshold, surprise
from failcast.detect.base import one_sided_surprise
from failcast.detect.forecast import HoltWinters

STEP_MS = 300_000
START_MS = 1_704_067_200_000


def _daily(n: int, seed: int = 7) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    x = 50.0 + 10.0 * np.sin(2 * np.pi * t / 288) + rng.normal(0.0, 1.0, n)
    return x, START_MS + t.astype(np.int64) * STEP_MS


def test_surprise_scale() -> None:
    assert surprise(0.0) == 0.0
    assert surprise(float("nan")) == 0.0
    # Two-sided tail of 3 sigma is 0.0027: -log10 / 10 = 0.2568.
    assert surprise(3.0) == pytest.approx(0.2568, abs=1e-4)
    assert surprise(-3.0) == 0.0  # callers pass absolute deviations
    assert surprise(20.0) == 1.0
    assert one_sided_surprise(3.0) == pytest.approx(-np.log10(0.00135) / 10, abs=1e-3)


@pytest.mark.parametrize("name", ["seasonal", "holt_winters", "ensemble"])
def test_spike_detected_and_normal_days_quiet(name: str) -> None:
    x, ts = _daily(1400)
    x[1000] += 25.0
    scores = create(name).score(x, ts)
    assert scores[1000] >= 0.9
    assert (scores[600:990] >= 0.5).sum() == 0


def test_seasonal_baseline_knows_the_hour() -> None:
    # 100 at noon, 0 otherwise, hourly for three weeks; then 100 at midnight.
    hours = np.arange(24 * 21)
    ts = START_MS + hours.astype(np.int64) * 3_600_000
    x = np.where(hours % 24 == 12, 100.0, 0.0) + np.random.default_rng(1).normal(0, 1, len(hours))
    x[-24] = 100.0  # midnight of the last day
    scores = create("seasonal").score(x, ts)
    assert scores[-24] == 1.0
    assert scores[-12] < 0.5  # noon at 100 is normal


def test_holt_winters_follows_a_trend_without_alarms() -> None:
    x = 0.5 * np.arange(2000.0) + np.random.default_rng(2).normal(0.0, 1.0, 2000)
    det = HoltWinters()
    scores = det.score(x)
    assert (scores[100:] >= 0.5).sum() == 0
    assert det.forecast() == pytest.approx(1000.0, abs=5.0)


def test_cusum_flags_a_level_shift_but_not_a_spike() -> None:
    x, ts = _daily(1400)
    x[1000] += 25.0
    x[1200:] += 8.0
    scores = create("cusum").score(x, ts)
    assert scores[1000] < 0.5
    first = int(np.argmax(scores >= 0.5))
    assert 1200 <= first <= 1210
    assert (scores[1220:] >= 0.5).sum() <= 1  # one shift, one alarm


def test_page_hinkley_flags_falling_accuracy() -> None:
    rng = np.random.default_rng(3)
    accuracy = np.r_[rng.normal(0.9, 0.01, 600), 0.9 - np.linspace(0, 0.1, 400)]
    accuracy[600:] += rng.normal(0, 0.01, 400)
    scores = create("page_hinkley", direction="down").score(accuracy)
    assert (scores[:600] >= 0.5).sum() == 0
    assert 600 < int(np.argmax(scores >= 0.5)) < 720
    rising = create("page_hinkley", direction="down").score(1.8 - accuracy)
    assert (rising >= 0.5).sum() == 0


def test_mahalanobis_flags_a_broken_correlation() -> None:
    rng = np.random.default_rng(4)
    a = rng.normal(0.0, 1.0, 1000)
    b = a + rng.normal(0.0, 0.1, 1000)
    # Each value alone is ordinary; together they break the usual relation.
    a[900], b[900] = 1.5, -1.5
    scores = create("mahalanobis").score(np.column_stack([a, b]))
    assert scores[900] == 1.0
    assert np.quantile(scores[100:900], 0.99) < 0.5
    lone = create("per_metric", inner={"name": "holt_winters"}).score(np.column_stack([a, b]))
    assert lone[900] < 0.5  # a univariate view misses it


def test_likelihood_rest_keeps_one_alarm_per_incident() -> None:
    x, ts = _daily(1400)
    x[1000:1010] += 30.0
    det = create("likelihood", inner={"name": "holt_winters"}, rest=50, rest_threshold=0.3)
    scores = det.score(x, ts)
    assert (scores[1000:1060] >= 0.3).sum() == 1


def test_thresholded_wrapper_with_cooldown() -> None:
    x, ts = _daily(1400)
    x[[1000, 1002, 1100]] += 40.0
    wrapper = Thresholded(create("holt_winters"), threshold=0.5, cooldown=10)
    scores, alarms = wrapper.alarms(x, ts)
    assert scores[1002] >= 0.5
    assert list(np.nonzero(alarms)[0]) == [1000, 1100]


def test_quantile_threshold() -> None:
    assert quantile_threshold(np.linspace(0, 1, 1001), 0.9) == pytest.approx(0.9)
    assert quantile_threshold([0.0, 0.0], 0.99, floor=0.3) == 0.3


def test_univariate_detector_refuses_several_metrics() -> None:
    with pytest.raises(ValueError, match="per_metric"):
        create("holt_winters").score(np.ones((10, 2)))
