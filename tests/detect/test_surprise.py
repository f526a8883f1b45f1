"""The default detector's promises, on plain arrays: resolution in the tail, no score while
warming up or constant, sparse series, level shifts, and a vector that does not saturate."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest

from failcast.detect import create
from failcast.detect.tail import fisher, from_unit, normal_two_sided, normal_upper, unit

STEP_MS = 300_000
START_MS = 1_704_067_200_000

Floats = npt.NDArray[np.float64]


def _ts(n: int) -> npt.NDArray[np.int64]:
    return START_MS + np.arange(n, dtype=np.int64) * STEP_MS


def _noise(n: int, seed: int = 0) -> Floats:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100.0 + 5.0 * np.sin(2 * np.pi * t / 288) + rng.normal(0.0, 1.0, n)


def test_tail_surprises_have_no_cap_and_map_monotonically_below_one() -> None:
    surprises = [normal_upper(z) for z in (3.0, 6.0, 9.0, 20.0, 40.0, 80.0)]
    assert surprises == sorted(surprises) and len(set(surprises)) == len(surprises)
    assert surprises[-1] > 1000  # decades: far beyond any cap
    scores = [unit(s) for s in surprises]
    assert scores == sorted(scores) and len(set(scores)) == len(scores) and scores[-1] < 1.0
    assert unit(5.0) == 0.5  # the documented alarm level: p = 1e-5
    assert from_unit(unit(12.3)) == pytest.approx(12.3)
    assert normal_two_sided(-4.0) == normal_two_sided(4.0)
    # Fisher's combination of one tail probability is that probability.
    assert fisher([7.0]) == pytest.approx(7.0)
    assert fisher([2.0, 2.0, 2.0]) > 2.0


def test_two_spikes_of_different_size_get_different_scores_the_larger_higher() -> None:
    base = _noise(2000)
    scores = []
    for size in (15.0, 40.0):
        x = base.copy()
        x[1500] += size
        scores.append(create("surprise").score(x, _ts(2000))[1500])
    assert 0.5 <= scores[0] < scores[1] < 1.0


def test_spikes_of_different_sizes_never_share_the_top_score() -> None:
    x = _noise(4000)
    spikes = [1000, 1800, 2600, 3400]
    for k, i in enumerate(spikes):
        x[i] += 30.0 * (k + 1)
    scores = create("surprise").score(x, _ts(4000))
    top = [scores[i] for i in spikes]
    assert len(set(top)) == len(top)
    assert min(top) >= 0.5 and max(top) < 1.0


def test_no_score_while_warming_up_never_a_one() -> None:
    det = create("surprise", warmup=100)
    x = _noise(300)
    x[10] += 500.0  # a wild value during warm-up
    verdicts = det.assess_many(x, _ts(300))
    assert np.isnan(verdicts.score[:100]).all()
    assert set(verdicts.status[:100]) == {"warming_up"}
    assert not np.isnan(verdicts.score[100:]).any()
    assert set(verdicts.status[100:]) == {"scored"}


def test_a_constant_series_has_no_score_until_it_varies() -> None:
    x = np.full(400, 7.0)
    verdicts = create("surprise").assess_many(x, _ts(400))
    assert np.isnan(verdicts.score).all()
    assert set(verdicts.status[150:]) == {"constant"}


def test_a_mostly_zero_series_ranks_a_large_spike_above_its_blips() -> None:
    rng = np.random.default_rng(3)
    n = 4000
    x = np.where(rng.random(n) < 0.05, rng.integers(1, 4, n), 0).astype(float)
    x[3000] = 40.0
    blips = [i for i in range(1000, n) if 0 < x[i] <= 3]
    scores = create("surprise").score(x, _ts(n))
    assert scores[3000] >= 0.5
    assert scores[3000] > max(scores[i] for i in blips)
    # Ordinary blips are not alarms.
    assert np.mean([scores[i] >= 0.5 for i in blips]) < 0.02


def test_a_level_shift_keeps_its_change_score_raised_for_its_whole_length() -> None:
    n, start, length = 3000, 1500, 600
    x = _noise(n)
    x[start : start + length] += 6.0
    verdicts = create("surprise").assess_many(x, _ts(n))
    during = verdicts.change[start + 20 : start + length]
    before = verdicts.change[500:start]
    assert during.min() > np.quantile(before, 0.99)
    assert during.min() >= 0.5
    # ... while the point score settles once the shift is known.
    assert np.median(verdicts.score[start + 100 : start + length]) < 0.5
    after = verdicts.change[start + length + 50 : start + length + 300]
    assert np.median(after) < 0.5


def test_one_spike_is_not_a_level_shift() -> None:
    x = _noise(2000)
    x[1500] += 60.0
    verdicts = create("surprise").assess_many(x, _ts(2000))
    assert verdicts.score[1500] >= 0.5
    assert verdicts.change[1500] < 0.5


def test_after_an_alarm_the_same_incident_is_held_below_the_threshold() -> None:
    x = _noise(2000)
    x[1500:1510] += 40.0
    scores = create("surprise").score(x, _ts(2000))
    assert scores[1500] >= 0.5
    assert (scores[1501:1560] < 0.5).all()
    # Held, not erased: the incident's later points still rank above ordinary ones.
    assert scores[1501:1510].min() > np.quantile(scores[1000:1500], 0.99)


def test_a_lasting_shift_raises_one_alarm_while_its_change_score_stays_up() -> None:
    x = _noise(3000)
    x[1500:2100] += 6.0
    verdicts = create("surprise").assess_many(x, _ts(3000))
    alarms = np.flatnonzero(np.nan_to_num(verdicts.score[1400:2200]) >= 0.5) + 1400
    assert alarms.tolist() == [1500]


def test_a_much_stronger_surprise_raises_a_new_alarm_during_the_hold() -> None:
    x = _noise(2000)
    x[1500] += 20.0
    x[1520] += 400.0
    scores = create("surprise").score(x, _ts(2000))
    assert scores[1500] >= 0.5 and scores[1520] >= 0.5


def _vector(n: int, seed: int = 0) -> Floats:
    rng = np.random.default_rng(seed)
    load = _noise(n, seed)
    return np.column_stack([load, 0.5 * load + rng.normal(0, 1, n), rng.normal(20, 2, n)])


def test_a_metric_constant_in_training_does_not_saturate_the_vector() -> None:
    n = 2000
    x = np.column_stack([_vector(n), np.zeros(n)])
    x[1200:, 3] = 0.001  # constant in training, then a small drift
    det = create("surprise_vector")
    det.fit(x[:1000], _ts(n)[:1000])
    verdicts = det.assess_many(x[1000:], _ts(n)[1000:])
    assert verdicts.metric_status is not None
    # Left out while constant, and for a warm-up's length after it starts to vary.
    assert (verdicts.metric_status[:349, 3] == 2).all()
    assert 3 not in [j for i in range(349) for j in verdicts.drivers(i)]
    # Once scored, its step from 0 to 0.001 is news, but it does not hold the score up.
    assert np.mean(np.nan_to_num(verdicts.score) >= 0.5) < 0.01
    assert np.nanmax(verdicts.score) < 0.9


def test_a_small_drift_outside_the_training_range_does_not_saturate() -> None:
    n = 3000
    x = _vector(n)
    x[2000:, 2] += np.linspace(0, 8, 1000)  # slowly beyond its range (sigma 2)
    det = create("surprise_vector")
    scores = det.score(x, _ts(n))
    assert np.mean(scores[2000:] >= 0.5) < 0.02
    assert scores[2000:].max() < 1.0


def test_each_column_of_a_vector_scores_as_it_would_alone() -> None:
    n = 1200
    x = _vector(n)
    x[900, 1] += 30.0
    x[100:120, 2] = np.nan
    verdicts = create("surprise_vector").assess_many(x, _ts(n))
    assert verdicts.metric_scores is not None
    for j in range(x.shape[1]):
        alone = create("surprise").score(x[:, j], _ts(n))
        np.testing.assert_array_equal(alone, verdicts.metric_scores[:, j])
    assert verdicts.drivers(900)[0] == 1
    assert verdicts.score[900] >= 0.5


def test_several_slightly_unusual_metrics_are_heard_together() -> None:
    n = 2000
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (n, 8))
    x[1500, :] += 3.2  # every metric a little unusual at once
    verdicts = create("surprise_vector").assess_many(x, _ts(n))
    alone = max(create("surprise").score(x[:, j], _ts(n))[1500] for j in range(8))
    assert verdicts.score[1500] > alone


def test_a_vector_of_one_metric_is_that_metric() -> None:
    x = _noise(800)
    x[700] += 30
    alone = create("surprise").score(x, _ts(800))
    vector = create("surprise_vector").score(x[:, None], _ts(800))
    np.testing.assert_array_equal(alone, vector)


def test_bad_parameters_are_refused() -> None:
    for params in ({"hold": -1}, {"short": 0}, {"tolerance": 0.0}, {"season": "lunar"}):
        with pytest.raises(ValueError):
            create("surprise", **params)
    det = create("surprise_vector")
    det.score(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="expected 2 metrics, got 3"):
        det.score(np.zeros((3, 3)))
    assert math.isnan(create("surprise").score_one(1.0))
