"""Trailing-window statistics: hand-computed values, missing data and causality."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from failcast.features import (
    difference,
    ewma,
    rate_of_change,
    rolling_max,
    rolling_mean,
    rolling_min,
    rolling_quantile,
    rolling_slope,
    rolling_std,
)

Series = npt.NDArray[np.float64]

X = np.array([1.0, 2.0, 4.0, np.nan, 8.0, 3.0])


def test_rolling_mean_uses_last_valid_points() -> None:
    out = rolling_mean(X, 3, min_periods=2)
    # [1] has one point (< 2), then (1+2)/2, (1+2+4)/3, (2+4)/2, (4+8)/2, (8+3)/2
    np.testing.assert_allclose(out, [np.nan, 1.5, 7 / 3, 3.0, 6.0, 5.5])


def test_rolling_std_is_sample_std() -> None:
    out = rolling_std([1.0, 2.0, 4.0, 7.0], 3, min_periods=2)
    np.testing.assert_allclose(
        out[1:], [np.std([1, 2], ddof=1), np.std([1, 2, 4], ddof=1), np.std([2, 4, 7], ddof=1)]
    )
    assert np.isnan(out[0])


def test_rolling_std_of_large_constant_offset_is_exact() -> None:
    x = 1e9 + np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    np.testing.assert_allclose(rolling_std(x, 4)[3:], np.std([0, 1, 0, 1], ddof=1), rtol=1e-9)


def test_rolling_min_max_skip_missing() -> None:
    np.testing.assert_allclose(rolling_min(X, 2, min_periods=1), [1, 1, 2, 4, 8, 3])
    np.testing.assert_allclose(rolling_max(X, 2, min_periods=1), [1, 2, 4, 4, 8, 8])


def test_rolling_quantile_interpolates() -> None:
    out = rolling_quantile([5.0, 1.0, 3.0, 2.0], 4, 0.5, min_periods=1)
    np.testing.assert_allclose(out, [5.0, 3.0, 3.0, 2.5])
    assert rolling_quantile([1.0, 2.0, 3.0, 4.0, 5.0], 5, 0.9)[-1] == pytest.approx(4.6)


def test_slope_of_a_line_is_its_gradient() -> None:
    x = 3.0 + 0.5 * np.arange(20.0)
    x[7] = np.nan
    np.testing.assert_allclose(rolling_slope(x, 5)[5:], 0.5)


def test_difference_and_rate_of_change() -> None:
    np.testing.assert_allclose(difference([1.0, 4.0, 9.0], 1), [np.nan, 3.0, 5.0])
    np.testing.assert_allclose(rate_of_change([2.0, 3.0, 0.0, 5.0], 1), [np.nan, 0.5, -1.0, np.nan])


def test_ewma_holds_through_missing_values() -> None:
    np.testing.assert_allclose(ewma([np.nan, 2.0, np.nan, 4.0], 0.5), [np.nan, 2.0, 2.0, 3.0])


def test_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError):
        rolling_mean(X, 0)
    with pytest.raises(ValueError):
        rolling_quantile(X, 3, 1.5)
    with pytest.raises(ValueError):
        ewma(X, 0.0)
    with pytest.raises(ValueError):
        rolling_mean(np.ones((2, 2)), 2)


FUNCTIONS: dict[str, Callable[[Series], Series]] = {
    "mean": lambda x: rolling_mean(x, 7),
    "std": lambda x: rolling_std(x, 7),
    "min": lambda x: rolling_min(x, 7),
    "max": lambda x: rolling_max(x, 7),
    "q90": lambda x: rolling_quantile(x, 7, 0.9),
    "slope": lambda x: rolling_slope(x, 7),
    "diff": lambda x: difference(x, 2),
    "roc": lambda x: rate_of_change(x, 2),
    "ewma": lambda x: ewma(x, 0.2),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_values_depend_only_on_the_past(name: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(10.0, 2.0, 120)
    x[[5, 40, 41, 90]] = np.nan
    whole = FUNCTIONS[name](x)
    for cut in (1, 13, 60, 119):
        # Exactly equal: not even the last bits of a value may depend on later data.
        np.testing.assert_array_equal(FUNCTIONS[name](x[:cut]), whole[:cut])
