"""Harder simulated history: harmless ramps, resets, varied precursors, gaps, late records."""

from __future__ import annotations

import numpy as np
import pytest

from failcast.chaos import history_matrix
from failcast.chaos.hardness import HARD, PLAIN, Hardness, Precursor

F = np.linspace(0.0, 1.0, 101)


def test_a_failing_precursor_always_completes_whatever_its_shape() -> None:
    for shape in (Precursor(0.6), Precursor(2.5), Precursor(1.3, stall_at=0.3, stall=0.25)):
        p = shape.progress(F)
        assert p[0] == 0.0 and p[-1] == pytest.approx(1.0)
        assert np.all(np.diff(p) >= -1e-12)
    stalled = Precursor(1.0, stall_at=0.3, stall=0.25).progress(F)
    assert np.ptp(stalled[(F > 0.31) & (F < 0.54)]) == 0.0  # standing still


def test_a_harmless_ramp_goes_away_and_a_reset_drops_at_once() -> None:
    faded = Precursor(1.0, benign=True, peak=0.5).progress(F)
    assert faded.max() == pytest.approx(0.5, abs=0.01) and faded[-1] == 0.0
    assert np.all(np.diff(faded[F > 0.5]) <= 0)
    reset = Precursor(1.0, benign=True, peak=0.5, reset=True).progress(F)
    assert reset[49] > 0.45 and np.all(reset[F >= 0.5] == 0.0)


def test_hard_history_is_plain_history_made_harder() -> None:
    plain = history_matrix(40, 8, 300, seed=4, hardness=PLAIN)
    hard = history_matrix(40, 8, 300, seed=4, hardness=HARD)
    assert np.isnan(plain.matrix.values).sum() == 0
    missing = np.isnan(hard.matrix.values).mean()
    assert 0.005 < missing < 0.06
    # Every recorded incident happened (resets and lost records only remove some), no earlier
    # than it did.
    truth = {(i.fault_id, i.service): i.start for i in plain.incidents}
    assert 0 < len(hard.incidents) < len(plain.incidents)
    for incident in hard.incidents:
        assert incident.start >= truth[(incident.fault_id, incident.service)]
    assert any(i.start > truth[(i.fault_id, i.service)] for i in hard.incidents)
    # Harmless ramps move metrics where plain history is quiet.
    assert not np.allclose(
        np.nan_to_num(hard.matrix.values), plain.matrix.values, rtol=0, atol=1e-9
    )


def test_the_base_rate_is_configurable() -> None:
    few = history_matrix(40, 8, 300, seed=4, organic_rate_per_day=1 / 40, hardness=PLAIN)
    many = history_matrix(40, 8, 300, seed=4, organic_rate_per_day=1 / 5, hardness=PLAIN)
    assert len(many.incidents) > 2 * len(few.incidents)
    assert Hardness() == PLAIN
