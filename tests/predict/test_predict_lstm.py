"""The LSTM member (optional `deep` extra): causal day-long sequences, training, weights fitted
on validation, artifacts that round-trip, live scoring that sees what training saw, and the
trees alone where torch is missing."""

from __future__ import annotations

import numpy as np
import pytest
from _predict_synthetic import synthetic_dataset
from sklearn.metrics import average_precision_score

from failcast.predict import members as members_module
from failcast.predict import model as model_module
from failcast.predict import training as training_module
from failcast.predict.dataset import POINTS_PER_HOUR, build_dataset
from failcast.predict.members import SEQUENCE_LENGTH, LstmMember, member_from_dict, sequences
from failcast.predict.model import FailureModel
from failcast.predict.scoring import score_fleet
from failcast.predict.simulated import simulated_history
from failcast.predict.training import TrainConfig, predict_rows, time_splits, train

HOUR = 3_600_000


def test_sequences_end_at_their_row_and_never_look_ahead() -> None:
    ds = synthetic_dataset(rows_per_service=60)
    columns = [0, 1]
    whole = sequences(ds.X, ds.ts_ms, ds.services, columns)
    assert whole.shape == (len(ds), SEQUENCE_LENGTH, 2)
    # The last step is the row itself, the one before it the same service's previous row.
    a_rows = np.flatnonzero(np.asarray(ds.services) == "a")
    i, prev = a_rows[30], a_rows[29]
    np.testing.assert_allclose(whole[i, -1], ds.X[i], rtol=1e-6)
    np.testing.assert_allclose(whole[i, -2], ds.X[prev], rtol=1e-6)
    # The first rows of a service are padded with zeros before its history.
    assert not whole[a_rows[0], :-1].any()
    # A prefix of the rows gives the same sequences: nothing after a row reaches it.
    cut = 70
    prefix = sequences(ds.X[:cut], ds.ts_ms[:cut], ds.services[:cut], columns)
    np.testing.assert_array_equal(prefix, whole[:cut])
    changed = ds.X.copy()
    changed[cut:] += 100.0
    np.testing.assert_array_equal(
        sequences(changed, ds.ts_ms, ds.services, columns)[:cut], whole[:cut]
    )
    # Cutting only some rows gives those rows' sequences.
    rows = np.zeros(len(ds), dtype=bool)
    rows[[5, 40, 99]] = True
    np.testing.assert_array_equal(
        sequences(ds.X, ds.ts_ms, ds.services, columns, rows=rows), whole[rows]
    )


def test_lstm_learns_a_rising_signal_and_round_trips() -> None:
    pytest.importorskip("torch")
    ds = synthetic_dataset(rows_per_service=400, seed=3)
    seq = sequences(ds.X, ds.ts_ms, ds.services, [0, 1])
    y = ds.labels[6]
    half = len(ds) // 2
    member = LstmMember.fit(seq[:half], y[:half], [0, 1], seed=0, epochs=25)
    p = member.predict(ds.X[half:], seq[half:])
    assert p.shape == (len(ds) - half,)
    assert np.all((p > 0) & (p < 1))
    assert average_precision_score(y[half:], p) > 0.6
    again = member_from_dict(member.to_dict())
    np.testing.assert_allclose(again.predict(ds.X[half:], seq[half:]), p, rtol=1e-6)
    with pytest.raises(ValueError, match="sequence"):
        member.predict(ds.X[:3])


def test_ensemble_trains_the_lstm_and_fits_weights_on_validation() -> None:
    pytest.importorskip("torch")
    ds = synthetic_dataset(rows_per_service=480)
    result = train(ds, TrainConfig(horizons=(6,), tree_params={"n_estimators": 40}))
    model = result.model
    horizon = model.horizons[6]
    assert set(horizon.members) == {"xgboost", "lstm"}
    assert sum(horizon.weights.values()) == pytest.approx(1.0)
    assert result.metrics["validation"]["6h"]["weights"] == horizon.weights
    assert model.meta["lstm"] == "available"
    assert "signal" in model.meta["lstm_columns"]
    lstm = horizon.members["lstm"]
    assert isinstance(lstm, LstmMember)
    assert lstm.columns == [model.feature_names.index(c) for c in model.meta["lstm_columns"]]
    assert model.describe_members()["lstm"] == "available"
    # The held-out figures are those of the whole ensemble, sequences included.
    assert result.metrics["test"]["6h"]["auc_pr"] > 0.8

    # Scores of a row depend on rows up to it only: a prefix of the data scores the same.
    splits = time_splits(ds.ts_ms, 0.2, 0.2)
    tail = np.flatnonzero(ds.ts_ms >= splits.test_start)
    cut = int(tail[len(tail) // 2])
    whole = predict_rows(model, ds, np.arange(len(ds)) >= tail[0])[6]
    prefix = ds.subset(np.arange(cut))
    part = predict_rows(model, prefix, np.arange(cut) >= tail[0])[6]
    np.testing.assert_allclose(part, whole[: len(part)], rtol=1e-6)

    # The artifact keeps the LSTM; without sequences the trees answer alone.
    again = FailureModel.from_bytes(model.to_bytes())
    rows = np.arange(len(ds)) >= tail[0]
    np.testing.assert_allclose(predict_rows(again, ds, rows)[6], whole, rtol=1e-6)
    tree_only = horizon.calibrator.apply(horizon.members["xgboost"].predict(ds.X[rows]))
    np.testing.assert_allclose(again.horizons[6].predict(ds.X[rows]), tree_only, rtol=1e-6)


def test_without_torch_the_trees_answer_alone_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    trained = train(
        synthetic_dataset(), TrainConfig(horizons=(6,), tree_params={"n_estimators": 20})
    ).model
    blob = trained.to_bytes()
    for module in (members_module, model_module, training_module):
        monkeypatch.setattr(module, "lstm_status", lambda: "unavailable: torch not installed")
    monkeypatch.setattr(members_module, "torch_module", lambda: None)
    plain = train(
        synthetic_dataset(), TrainConfig(horizons=(6,), tree_params={"n_estimators": 20})
    ).model
    assert list(plain.horizons[6].members) == ["xgboost"]
    assert plain.describe_members() == {
        "members": ["xgboost"],
        "lstm": "unavailable: torch not installed",
    }
    # A model trained with torch still loads and serves with the trees where torch is absent.
    loaded = FailureModel.from_bytes(blob)
    assert "lstm" not in loaded.horizons[6].members
    assert loaded.sequence_columns is None
    assert loaded.describe_members()["lstm"] == "unavailable: torch not installed"


def test_live_scoring_cuts_the_same_day_as_training() -> None:
    pytest.importorskip("torch")
    history = simulated_history(20, 4, seed=3)
    n = len(history.fleet.ts_ms)
    # Hourly rows that end on the last grid point, the one live scoring answers for.
    warmup = 288 + (n - 1 - 288) % POINTS_PER_HOUR
    ds = build_dataset(history.fleet, history.incidents, (24,), warmup=warmup)
    config = TrainConfig(horizons=(24,), test_fraction=0.0, val_fraction=0.3)
    model = train(ds, config).model
    assert model.sequence_columns is not None
    last = ds.ts_ms == ds.ts_ms.max()
    expected = predict_rows(model, ds, last)[24]
    served = {s.service: s.probability[24] for s in score_fleet(history.fleet, [model])[0]}
    names = [ds.services[i] for i in np.flatnonzero(last).tolist()]
    np.testing.assert_allclose([served[s] for s in names], expected, rtol=1e-5)
