from __future__ import annotations

import numpy as np
import pytest
from _predict_synthetic import synthetic_dataset

from failcast.chaos import FaultKind, Incident, IncidentType
from failcast.predict.calibration import Calibrator, brier, fit_calibrator, reliability
from failcast.predict.labels import labels_for_rows
from failcast.predict.members import lstm_status, torch_module
from failcast.predict.metrics import (
    bootstrap_intervals,
    brier_skill,
    choose_threshold,
    classification,
    events,
)
from failcast.predict.model import (
    TYPE_MIN_CONFIDENCE,
    FailureModel,
    TypeModel,
    compose,
    fit_weights,
)
from failcast.predict.simulated import precursor_ceiling
from failcast.predict.training import TrainConfig, purged, time_splits, train

HOUR = 3_600_000


def test_calibration_is_monotone_and_lowers_brier_of_overconfident_scores() -> None:
    rng = np.random.default_rng(1)
    truth = rng.random(4000)
    y = rng.random(4000) < truth
    overconfident = np.clip(truth**3 * 1.0 + 0.0, 0, 1)  # too low almost everywhere
    for method in ("isotonic", "platt"):
        cal = fit_calibrator(overconfident, y, method)  # type: ignore[arg-type]
        grid = np.linspace(0, 1, 201)
        out = cal.apply(grid)
        assert np.all(np.diff(out) >= -1e-12), method
        assert brier(cal.apply(overconfident), y) < brier(overconfident, y)
        again = Calibrator.from_dict(cal.to_dict())
        np.testing.assert_allclose(again.apply(grid), out)


def test_single_class_validation_leaves_scores_alone() -> None:
    cal = fit_calibrator([0.1, 0.7], [False, False])
    assert cal.method == "identity"
    assert cal.apply([0.25]).tolist() == [0.25]


def test_reliability_bins_mean_prediction_and_frequency() -> None:
    bins = reliability([0.05, 0.05, 0.95, 0.95], [False, True, True, True], bins=10)
    assert bins == [(0.05, 0.5, 2), (0.95, 1.0, 2)]


def test_threshold_reaches_the_precision_goal_with_the_most_recall() -> None:
    p = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4]
    y = [True, True, False, True, True, False]
    # Cuts: 0.9 (P 1, R .25), 0.8 (1, .5), 0.7 (.67), 0.6 (.75, .75), 0.5 (.8, 1.0), 0.4 (.67)
    assert choose_threshold(p, y, min_precision=0.8) == 0.5
    assert choose_threshold(p, y, min_precision=0.95) == 0.8
    figures = classification(p, y, 0.5)
    assert figures["precision"] == 0.8 and figures["recall"] == 1.0


def test_events_count_warnings_lead_time_and_false_alarms() -> None:
    ts = np.arange(0, 48) * HOUR
    alarm = np.zeros(48, dtype=bool)
    alarm[[10, 11, 30]] = True  # warns 10 h and 9 h ahead of the start at 20 h; 30 h is false
    incidents = {"a": (np.array([20 * HOUR]), ["x"])}
    out = events(ts, ["a"] * 48, alarm, incidents, horizon_h=12)
    assert out["event_recall"] == 1.0
    assert out["lead_h_median"] == 10.0
    assert out["false_alarms_per_day"] == pytest.approx(1 / (47 / 24))
    assert out["event_precision"] == 0.5  # two episodes, one followed by the incident


def test_bootstrap_intervals_resample_incidents_and_hold_the_estimate() -> None:
    rng = np.random.default_rng(2)
    ts = np.tile(np.arange(0, 400) * HOUR, 3)
    services = [s for s in ("a", "b", "c") for _ in range(400)]
    incidents = {s: (np.sort(rng.choice(np.arange(30, 390), 6, replace=False)) * HOUR, ["x"] * 6)
                 for s in ("a", "b", "c")}  # fmt: skip
    y = labels_for_rows(ts, services, incidents, 12)
    p = np.clip(0.6 * y + rng.normal(0.05, 0.15, len(y)), 0, 1)
    alarm = p > 0.4
    rate = float(y.mean())
    ci = bootstrap_intervals(ts, services, p, y, alarm, incidents, 12, rate, replicates=150)
    whole = classification(p, y, 0.4)
    figures = events(ts, services, alarm, incidents, 12)
    for key, value in (("auc_pr", whole["auc_pr"]), ("event_recall", figures["event_recall"]),
                       ("event_precision", figures["event_precision"]),
                       ("brier_skill", brier_skill(p, y, rate))):  # fmt: skip
        lo, hi = ci[key]
        assert lo <= value <= hi, key
    assert ci["auc_pr"][1] > ci["auc_pr"][0]  # resampling moves it
    perfect = bootstrap_intervals(ts, services, y.astype(float), y, y, incidents, 12, rate)
    assert perfect["auc_pr"] == (1.0, 1.0) and perfect["event_recall"] == (1.0, 1.0)


def test_weights_prefer_the_better_member() -> None:
    y = np.array([0, 1] * 50, dtype=bool)
    good = np.where(y, 0.9, 0.1)
    bad = np.full(100, 0.5)
    weights = fit_weights({"good": good, "bad": bad}, y)
    assert weights["good"] > 0.9 and weights["good"] + weights["bad"] == pytest.approx(1.0)


def test_time_splits_never_shuffle_and_purge_labels_that_cross_the_cut() -> None:
    ds = synthetic_dataset()
    splits = time_splits(ds.ts_ms, 0.2, 0.2)
    assert splits.start < splits.val_start < splits.test_start <= splits.end
    rows = purged(ds, splits.start, splits.val_start, 6)
    assert ds.ts_ms[rows].max() + 6 * HOUR <= splits.val_start


def test_trained_model_predicts_round_trips_and_says_without_torch() -> None:
    ds = synthetic_dataset()
    result = train(ds, TrainConfig(horizons=(6,), tree_params={"n_estimators": 40}))
    model = result.model
    test = result.metrics["test"]["6h"]
    assert test["auc_pr"] > 0.8
    assert model.type_model.classes == ["resource_exhaustion"]
    again = FailureModel.from_bytes(model.to_bytes())
    np.testing.assert_allclose(again.predict_proba(ds.X[:50])[6], model.predict_proba(ds.X[:50])[6])
    contributions = model.contributions(ds.X[:5], 6)
    assert contributions is not None and contributions.shape == (5, 3)
    # Contributions add up to the trees' log-odds.
    tree = model.horizons[6].tree
    assert tree is not None
    np.testing.assert_allclose(contributions.sum(axis=1), tree.margin(ds.X[:5]), rtol=1e-4)
    if torch_module() is None:
        assert lstm_status() == "unavailable: torch not installed"
        assert model.describe_members() == {
            "members": ["xgboost"],
            "lstm": "unavailable: torch not installed",
        }
    else:
        # Trained; whether it is used depends on its validation weight.
        assert "lstm" in model.horizons[6].members
        assert model.describe_members()["lstm"] == "available"


def test_precursor_ceiling_counts_only_rows_after_a_precursor_began() -> None:
    ts = np.arange(0, 100) * HOUR
    hour = 3600.0
    slow = Incident("a", IncidentType.resource_exhaustion, 50 * hour, 51 * hour, "a",
                    FaultKind.memory_leak_oom, precursor_start=40 * hour)  # fmt: skip
    sudden = Incident("a", IncidentType.latency_spike, 80 * hour, 81 * hour, "a",
                      FaultKind.network_latency)  # fmt: skip
    out = precursor_ceiling(ts, ["a"] * 100, [slow, sudden], horizon_h=24)
    # Positive rows: 26..49 and 56..79 (48); visible: 40..49 (10).
    assert out["positives"] == 48
    assert out["row_recall"] == pytest.approx(10 / 48)
    assert out["event_recall"] == 0.5 and out["incidents"] == 2 and out["sudden"] == 1


def test_probabilities_never_fall_at_longer_horizons() -> None:
    ds = synthetic_dataset()
    config = TrainConfig(horizons=(1, 6), tree_params={"n_estimators": 30}, use_lstm=False)
    model = train(ds, config).model
    rng = np.random.default_rng(7)
    X = rng.normal(0.0, 5.0, (2000, 2)) * rng.choice([1.0, 100.0], (2000, 2))
    X[rng.random(X.shape) < 0.1] = np.nan
    p = model.predict_proba(X)
    assert np.all(p[1] <= p[6])
    assert np.all((p[1] >= 0) & (p[6] <= 1))
    # The longer horizon adds the hazard of (1 h, 6 h] to the first hour's.
    h1, h6 = model.horizons[1].predict(X), model.horizons[6].predict(X)
    np.testing.assert_allclose(p[6], 1 - (1 - h1) * (1 - h6))


def test_compose_is_monotone_for_any_hazards() -> None:
    rng = np.random.default_rng(3)
    hazards = {h: rng.random(500) for h in (72, 1, 48, 24)}
    p = compose(hazards)
    assert list(p) == [1, 24, 48, 72]
    for short, long in ((1, 24), (24, 48), (48, 72)):
        assert np.all(p[short] <= p[long])


def test_each_horizon_is_calibrated_on_its_validation_rows() -> None:
    ds = synthetic_dataset(rows_per_service=600)
    config = TrainConfig(horizons=(1, 6), tree_params={"n_estimators": 30}, use_lstm=False)
    validation = train(ds, config).model.meta["validation"]
    for key in ("1h", "6h"):
        bins = validation[key]["reliability"]
        predicted = sum(b[0] * b[2] for b in bins) / sum(b[2] for b in bins)
        observed = sum(b[1] * b[2] for b in bins) / sum(b[2] for b in bins)
        assert predicted == pytest.approx(observed, abs=0.05), key


def test_incident_type_beats_the_majority_and_says_unknown_when_unsure() -> None:
    rng = np.random.default_rng(5)
    n = 600
    kinds = rng.choice(
        ["resource_exhaustion", "latency_spike", "cost_overload"], n, p=[0.5, 0.25, 0.25]
    )
    X = rng.normal(0, 1, (n, 3))
    X[:, 0] += np.where(kinds == "resource_exhaustion", 3.0, 0.0)  # memory filling up
    # Latency rises before both of the other kinds alike: nothing tells them apart.
    X[:, 1] += np.where(kinds != "resource_exhaustion", 3.0, 0.0)
    types: list[str | None] = [str(k) for k in kinds]
    types[:50] = [None] * 50  # rows with no incident ahead are not type examples
    model = TypeModel.fit(X[:400], types[:400])
    assert model.majority == "resource_exhaustion"
    figures = model.figures(X[400:], [str(k) for k in kinds[400:]])
    assert figures["accuracy"] > figures["majority_accuracy"] + 0.15
    assert figures["answered_accuracy"] > figures["accuracy"]
    # Rising latency could be either of two kinds: no confident answer.
    answer, confidence = model.predict(np.array([[0.0, 3.0, 0.0], [5.0, 0.0, 0.0]]))
    assert answer[0] == "unknown" and confidence[0] < TYPE_MIN_CONFIDENCE
    assert answer[1] == "resource_exhaustion"
    again = TypeModel.from_dict(model.to_dict())
    assert again.predict(X[:5])[0] == model.predict(X[:5])[0] and again.majority == model.majority
