"""Windowed novelty, the rest period wrapper, and the averaged anomaly likelihood."""

from __future__ import annotations

import math

import numpy as np
import pytest

from failcast.detect import create


def test_novelty_scores_distance_to_nearest_remembered_window_in_range_units() -> None:
    det = create("novelty", window=2, radius=0.1, learn_rate=0.0)
    scores = det.score([0.0, 1.0, 0.0, 1.0, 0.5])
    # [0,1] is remembered; [1,0] is sqrt((1 + 1) / 2) = 1 range away and remembered too;
    # [0,1] again is 0 away; [1,0.5] is sqrt((0 + 0.25) / 2) from [1,0].
    np.testing.assert_allclose(scores, [0.0, 0.0, 1.0, 0.0, math.sqrt(0.125)])


def test_novelty_is_quiet_on_a_repeating_pattern_and_loud_on_a_new_shape() -> None:
    pattern = [0.0, 0.0, 5.0, 10.0, 5.0, 0.0] * 60
    det = create("novelty", window=6)
    scores = det.score([*pattern, 0.0, 10.0, 0.0, 10.0, 0.0, 10.0])
    assert scores[200:360].max() < 0.01
    assert scores[-1] > 0.3


def test_novelty_forgets_the_least_recently_matched_window_at_capacity() -> None:
    det = create("novelty", window=1, radius=0.01, capacity=2, learn_rate=0.0)
    det.score([0.0, 10.0, 0.0, 5.0])  # 10 is the least recently matched when 5 arrives
    state = det.state_dict()["state"]
    assert sorted(p[0] for p in state["protos"]) == [0.0, 5.0]


def test_rest_zeroes_the_points_after_an_alarm_while_the_inner_detector_learns() -> None:
    inner = {"name": "novelty", "params": {"window": 2, "radius": 0.1, "learn_rate": 0.0}}
    det = create("rest", inner=inner, rest=2, threshold=0.5)
    scores = det.score([0.0, 1.0, 0.0, 1.0, 0.0, 0.5])
    np.testing.assert_allclose(scores, [0.0, 0.0, 1.0, 0.0, 0.0, math.sqrt(0.125)])


def test_rest_refuses_a_negative_period() -> None:
    with pytest.raises(ValueError):
        create("rest", rest=-1)


def test_averaged_likelihood_is_louder_on_a_sustained_small_shift() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(0.0, 1.0, 3000)
    x[2500:2600] += 2.5  # a shift too small for any single point to stand out
    inner = {"name": "seasonal", "params": {"season": "none", "alpha": 0.01}}
    plain = create("likelihood", inner=inner).score(x)
    averaged = create("likelihood", inner=inner, averaged=True).score(x)
    assert plain[2500:2600].max() < 0.3
    assert averaged[2500:2600].max() > 0.9
    assert averaged[1000:2500].max() < 0.6
