"""Distribution drift measures and ranking."""

from __future__ import annotations

import numpy as np
import pytest

from failcast.detect.drift import drift, jensen_shannon, ks, psi, rank_drift, wasserstein


def test_identical_distributions_do_not_drift() -> None:
    rng = np.random.default_rng(0)
    ref, cur = rng.normal(0, 1, 5000), rng.normal(0, 1, 5000)
    result = drift("x", ref, cur)
    assert not result.drifted
    assert result.psi < 0.02 and result.ks < 0.05 and result.jensen_shannon < 0.02


def test_shift_of_one_sigma_drifts_on_every_measure() -> None:
    rng = np.random.default_rng(1)
    ref, cur = rng.normal(0, 1, 5000), rng.normal(1, 1, 5000)
    result = drift("x", ref, cur)
    assert result.drifted
    assert result.psi > 0.2
    assert result.ks > 0.3
    assert wasserstein(ref, cur) == pytest.approx(1.0, abs=0.08)
    assert jensen_shannon(ref, cur) > 0.1


def test_psi_by_hand() -> None:
    # Two bins split at the reference median; the current window puts 80% in the upper bin.
    ref = np.r_[np.zeros(50), np.ones(50)]
    cur = np.r_[np.zeros(20), np.ones(80)]
    expected = (0.2 - 0.5) * np.log(0.2 / 0.5) + (0.8 - 0.5) * np.log(0.8 / 0.5)
    assert psi(ref, cur, bins=2) == pytest.approx(expected, rel=1e-3)


def test_small_samples_need_significance_not_just_effect_size() -> None:
    result = drift("x", [1.0, 2.0, 3.0], [1.5, 2.5, 3.5])
    assert result.severity >= 1.0
    assert not result.drifted
    assert ks([1.0], [])[0] != ks([1.0], [])[0]  # NaN for an empty window


def test_rank_puts_the_drifting_feature_first() -> None:
    rng = np.random.default_rng(2)
    ref = {"a": rng.normal(0, 1, 3000), "b": rng.normal(0, 1, 3000), "c": rng.normal(0, 1, 3000)}
    cur = {"a": rng.normal(0, 1, 3000), "b": rng.normal(0, 3, 3000), "c": rng.normal(0.3, 1, 3000)}
    ranked = rank_drift(ref, cur)
    assert [r.feature for r in ranked] == ["b", "c", "a"]
    assert ranked[0].drifted and not ranked[2].drifted
