"""The combined feature matrix."""

from __future__ import annotations

import numpy as np
import pytest

from failcast.features import build_feature_matrix

MINUTE = 60_000


def _metrics(n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(1)
    ts = 1_704_067_200_000 + np.arange(n) * 5 * MINUTE
    requests = rng.poisson(100, n).astype(float)
    errors = rng.poisson(2, n).astype(float)
    latency = rng.normal(50, 5, n)
    latency[[10, 11, n - 7]] = np.nan
    return ts, {"requests": requests, "errors": errors, "latency": latency}


def test_matrix_has_named_columns_including_ratios() -> None:
    ts, metrics = _metrics(300)
    names, matrix = build_feature_matrix(ts, metrics, windows=(6, 24))
    assert matrix.shape == (300, len(names))
    assert len(set(names)) == len(names)
    for expected in (
        "hour",
        "weekend",
        "latency__mean_6",
        "errors__slope_24",
        "latency__missing",
        "errors_per_request",
    ):
        assert expected in names
    ratio = matrix[:, names.index("errors_per_request")]
    np.testing.assert_allclose(ratio, metrics["errors"] / metrics["requests"])
    assert matrix[10, names.index("latency__missing")] == 1.0


def test_matrix_is_causal() -> None:
    ts, metrics = _metrics(400)
    _, whole = build_feature_matrix(ts, metrics, windows=(6, 24))
    for cut in (30, 250):
        _, part = build_feature_matrix(
            ts[:cut], {k: v[:cut] for k, v in metrics.items()}, windows=(6, 24)
        )
        np.testing.assert_allclose(part, whole[:cut], rtol=1e-9, atol=1e-9)


def test_matrix_rejects_misaligned_metrics() -> None:
    ts, metrics = _metrics(50)
    metrics["latency"] = metrics["latency"][:-1]
    with pytest.raises(ValueError, match="latency"):
        build_feature_matrix(ts, metrics)
    with pytest.raises(ValueError, match="ascending"):
        build_feature_matrix(ts[::-1], {})
