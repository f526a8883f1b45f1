"""Training and backtesting on imported history: the files `failcast simulate --out` writes."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from failcast.chaos import history_matrix
from failcast.cli import app
from failcast.cli.simulate import write_history
from failcast.predict.dataset import STEP_MS, FleetData, ServiceData, build_dataset
from failcast.predict.imported import load_history
from failcast.predict.labels import IncidentRecord
from failcast.predict.model import FailureModel
from failcast.predict.training import TrainConfig, fit_model, purged, time_splits, train

runner = CliRunner()
HOUR = 3_600_000


def simulated_files(directory: Path, days: float = 10, services: int = 3, seed: int = 2) -> None:
    result = history_matrix(days, services, step_s=STEP_MS // 1000, seed=seed)
    write_history(directory, result.matrix, result.incidents, result.topology.to_dict())


def test_history_files_read_back_onto_the_grid(tmp_path: Path) -> None:
    result = history_matrix(3, 3, step_s=60, seed=4)
    write_history(tmp_path, result.matrix, result.incidents, result.topology.to_dict())
    fleet, incidents = load_history(tmp_path, STEP_MS)
    assert fleet.step_ms == STEP_MS and len(fleet.ts_ms) == 3 * 288
    # Five one-minute samples average into each five-minute point.
    row = result.matrix.series.index(("database", "cpu_pct"))
    expected = result.matrix.values[row][:10].reshape(2, 5).mean(axis=1)
    np.testing.assert_allclose(
        fleet.services["database"].metrics["cpu_pct"][:2], expected, rtol=1e-5
    )
    assert fleet.services["auth"].dependencies == ("database", "cache")
    assert [(i.service, round(i.start)) for i in incidents] == [
        (i.service, round(i.start)) for i in result.incidents
    ]


def test_rows_inside_an_open_incident_are_left_out() -> None:
    ts = np.arange(48 * 12, dtype=np.int64) * STEP_MS
    flat = np.ones(len(ts))
    fleet = FleetData(
        ts,
        {
            "a": ServiceData("microservice", {"x": flat}),
            "b": ServiceData("microservice", {"x": flat}),
        },
    )
    start_s, end_s = 30 * 3600.0, 33 * 3600.0  # open for three hours
    ds = build_dataset(fleet, [IncidentRecord("a", "latency_spike", start_s, end_s, "a")], (1,))
    a_times = ds.ts_ms[np.asarray(ds.services) == "a"]
    b_times = ds.ts_ms[np.asarray(ds.services) == "b"]
    inside = (a_times >= start_s * 1000) & (a_times < end_s * 1000)
    assert not inside.any()
    assert len(b_times) == len(a_times) + 3
    assert (ds.labels[1] & (np.asarray(ds.services) == "a")).sum() == 1  # the hour before


def test_each_split_ends_at_least_a_horizon_before_the_next_begins(tmp_path: Path) -> None:
    simulated_files(tmp_path, days=12)
    fleet, incidents = load_history(tmp_path)
    ds = build_dataset(fleet, incidents, (1, 24))
    splits = time_splits(ds.ts_ms, 0.2, 0.2)
    assert splits.start < splits.stop_start < splits.val_start < splits.test_start
    cuts = (splits.start, splits.stop_start, splits.val_start, splits.test_start)
    for lo, hi in pairwise(cuts):
        rows = purged(ds, lo, hi, 24)
        assert ds.ts_ms[rows].max() + 24 * HOUR <= hi
    model = fit_model(ds, splits, TrainConfig(horizons=(1, 24), use_lstm=False))
    assert set(model.horizons) == {1, 24}


def test_train_and_backtest_accept_a_history_directory(tmp_path: Path) -> None:
    simulated_files(tmp_path, days=12)
    trained = runner.invoke(
        app, ["train", "--data", str(tmp_path), "--step", "1h", "--horizons", "6h,1d"]
    )
    assert trained.exit_code == 0, trained.output
    assert "held-out test split" in trained.output and "promotion gate" in trained.output
    replay = runner.invoke(
        app,
        ["backtest", "--data", str(tmp_path), "--horizons", "24", "--initial-days", "6",
         "--retrain-days", "3"],
    )  # fmt: skip
    assert replay.exit_code == 0, replay.output
    assert "24h ahead" in replay.output and "root cause" not in replay.output
    missing = runner.invoke(app, ["train", "--data", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2


def test_a_model_remembers_the_grid_it_was_trained_on(tmp_path: Path) -> None:
    simulated_files(tmp_path, days=12)
    fleet, incidents = load_history(tmp_path, HOUR)
    result = train(
        build_dataset(fleet, incidents, (6,)), TrainConfig(horizons=(6,), use_lstm=False)
    )
    assert result.model.meta["step_ms"] == HOUR
    assert FailureModel.from_bytes(result.model.to_bytes()).meta["step_ms"] == HOUR
