"""The contract every registered detector keeps: causal, deterministic, resumable, robust."""

from __future__ import annotations

import json

import numpy as np
import numpy.typing as npt
import pytest

from failcast.detect import (
    BaseDetector,
    Detector,
    MultiMetric,
    MultiMetricDetector,
    SingleMetric,
    SingleMetricDetector,
    create,
    names,
    restore,
)
from failcast.detect.configs import configuration, listed

STEP_MS = 300_000
START_MS = 1_704_067_200_000
N = 700


def _series(detector: BaseDetector, n: int = N, seed: int = 7) -> npt.NDArray[np.float64]:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = 50.0 + 10.0 * np.sin(2 * np.pi * t / 288) + rng.normal(0.0, 1.0, n)
    base[n // 2] += 25.0  # a spike
    base[int(n * 0.8) :] += 8.0  # a level shift
    if detector.multivariate:
        other = 0.5 * base + rng.normal(0.0, 0.5, n)
        third = rng.normal(5.0, 1.0, n)
        return np.column_stack([base, other, third])
    return base


def _timestamps(n: int = N) -> npt.NDArray[np.int64]:
    return START_MS + np.arange(n, dtype=np.int64) * STEP_MS


@pytest.fixture(params=names())
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_registry_lists_every_kind() -> None:
    assert {
        "seasonal",
        "holt_winters",
        "mahalanobis",
        "cusum",
        "page_hinkley",
        "ensemble",
        "per_metric",
        "likelihood",
        "surprise",
        "surprise_vector",
        "mad_zscore",
        "reference_zscore",
    } <= set(names())


def test_every_detector_is_of_exactly_one_kind(name: str) -> None:
    det = create(name)
    single = isinstance(det, SingleMetricDetector)
    assert single != isinstance(det, MultiMetricDetector)
    assert det.multivariate is not single
    assert isinstance(det, Detector)
    assert isinstance(det, SingleMetric if single else MultiMetric)
    # Each kind scores its own points: a float, or a row of floats.
    x, ts = _series(det), _timestamps()
    det.fit(x[:400], ts[:400])
    t = int(ts[400])
    if isinstance(det, SingleMetricDetector):
        value = float(x[400])
        np.testing.assert_equal(det.score_one(value, t), det.update(value, t))
    else:
        row = [float(v) for v in x[400]]
        np.testing.assert_equal(det.score_one(row, t), det.update(row, t))


def _present(scores: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Scores where there is one: a detector may give none (NaN) while it warms up."""
    return scores[~np.isnan(scores)]


def test_scores_are_within_unit_interval(name: str) -> None:
    det = create(name)
    scores = det.score(_series(det), _timestamps())
    assert scores.shape == (N,)
    assert not np.isinf(scores).any()
    present = _present(scores)
    assert len(present) >= N // 2  # warm-up is shorter than half this series
    assert (present >= 0.0).all() and (present <= 1.0).all()
    # Absent scores only come first: once a detector scores, it keeps scoring clean data.
    first = int(np.flatnonzero(~np.isnan(scores))[0])
    assert not np.isnan(scores[first:]).any()


def test_causal_prefix_scores_equal_whole_series_scores(name: str) -> None:
    x, ts = _series(create(name)), _timestamps()
    whole = create(name).score(x, ts)
    for cut in (1, 50, 351, N - 1):
        np.testing.assert_array_equal(create(name).score(x[:cut], ts[:cut]), whole[:cut])


def test_deterministic(name: str) -> None:
    x, ts = _series(create(name)), _timestamps()
    np.testing.assert_array_equal(create(name).score(x, ts), create(name).score(x, ts))


def test_state_round_trip_through_json_continues_identically(name: str) -> None:
    x, ts = _series(create(name)), _timestamps()
    whole = create(name).score(x, ts)
    half = N // 2 + 3
    first = create(name)
    head = first.score(x[:half], ts[:half])
    text = json.dumps(first.state_dict(), allow_nan=False)
    resumed = restore(json.loads(text))
    assert type(resumed) is type(first)
    tail = resumed.score(x[half:], ts[half:])
    np.testing.assert_array_equal(np.concatenate([head, tail]), whole)


def test_score_one_changes_nothing_and_matches_update(name: str) -> None:
    det = create(name)
    x, ts = _series(det), _timestamps()
    det.score(x[:400], ts[:400])
    before = json.dumps(det.state_dict())
    probe = det.score_one(x[400], int(ts[400]))
    assert json.dumps(det.state_dict()) == before
    assert det.score_one(x[400], int(ts[400])) == probe
    assert det.update(x[400], int(ts[400])) == probe


def test_missing_values_and_gaps_are_tolerated(name: str) -> None:
    det = create(name)
    x = _series(det).copy()
    ts = _timestamps().copy()
    x[[0, 5, 6, 7, 300, 301, 650]] = np.nan
    ts[200:] += 36 * 3_600_000  # a day and a half without data
    scores = det.score(x, ts)
    assert not np.isinf(scores).any()
    present = _present(scores)
    assert len(present) >= N // 2
    assert (present >= 0.0).all() and (present <= 1.0).all()


def test_constant_series_raises_no_alarm(name: str) -> None:
    det = create(name)
    x = np.full(N, 42.0)
    if det.multivariate:
        x = np.column_stack([x, np.full(N, -3.0)])
    scores = det.score(x, _timestamps())
    assert (_present(scores) < 0.5).all()


def test_fit_learns_without_scoring_difference(name: str) -> None:
    x, ts = _series(create(name)), _timestamps()
    fitted = create(name)
    fitted.fit(x[:400], ts[:400])
    streamed = create(name)
    streamed.score(x[:400], ts[:400])
    assert fitted.state_dict() == streamed.state_dict()


def test_unknown_detector_and_wrong_state_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown detector"):
        create("nope")
    state = create("cusum").state_dict()
    with pytest.raises(ValueError):
        create("holt_winters").from_state(state)


def _configured(name: str, metrics: int) -> BaseDetector:
    return configuration(name).build(metrics)


@pytest.fixture(
    params=[
        (c.name, k)
        for c in listed()
        for k, spec in ((1, c.single), (3, c.vector))
        if spec is not None
    ],
    ids=lambda p: f"{p[0]}-{p[1]}",
)
def configured(request: pytest.FixtureRequest) -> tuple[str, int]:
    return tuple(request.param)  # type: ignore[return-value]


def test_every_named_configuration_is_causal_and_resumable(configured: tuple[str, int]) -> None:
    name, metrics = configured
    det = _configured(name, metrics)
    x = _series(det)
    if metrics == 1 and x.ndim == 2:
        x = x[:, 0]
    ts = _timestamps()
    whole = _configured(name, metrics).score(x, ts)
    present = _present(whole)
    assert ((present >= 0.0) & (present <= 1.0)).all()
    for cut in (1, 351, N - 1):
        np.testing.assert_array_equal(
            _configured(name, metrics).score(x[:cut], ts[:cut]), whole[:cut]
        )
    half = N // 2 + 3
    first = _configured(name, metrics)
    head = first.score(x[:half], ts[:half])
    resumed = restore(json.loads(json.dumps(first.state_dict(), allow_nan=False)))
    np.testing.assert_array_equal(np.concatenate([head, resumed.score(x[half:], ts[half:])]), whole)
