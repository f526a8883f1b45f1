"""`failcast score` on CSV files."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from typer.testing import CliRunner

from failcast.cli import app

runner = CliRunner()


def _write(path: Path, rows: list[list[object]], header: list[str] | None = None) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def _series(n: int, spike: int | None = None, seed: int = 0) -> list[list[object]]:
    rng = np.random.default_rng(seed)
    values = 100.0 + rng.normal(0.0, 1.0, n)
    if spike is not None:
        values[spike] += 30.0
    return [
        ["2024-01-01T00:00:00Z".replace("00:00:00", f"{i // 60:02d}:{i % 60:02d}:00"), v]
        for i, v in enumerate(values.tolist())
    ]


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="") as handle:
        return list(csv.reader(handle))


def _scores(rows: list[list[str]]) -> np.ndarray:
    """The anomaly_score column, NaN where a row has no score."""
    return np.array([float(r[1]) if r[1] else np.nan for r in rows[1:]])


def test_default_detector_scores_every_row_after_warm_up_and_flags_the_spike(
    tmp_path: Path,
) -> None:
    src = _write(tmp_path / "in.csv", _series(600, spike=500), header=["timestamp", "value"])
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", str(src), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert "(surprise)" in result.output and "150 without a score" in result.output
    rows = _read(out)
    assert rows[0] == ["timestamp", "anomaly_score", "change_score", "status"]
    assert len(rows) == 601
    assert {r[3] for r in rows[1:151]} == {"warming_up"}
    assert all(r[1] == "" for r in rows[1:151])  # no score while warming up, never a 1
    assert {r[3] for r in rows[151:]} == {"scored"}
    scores = _scores(rows)
    present = scores[150:]
    assert ((present >= 0) & (present < 1)).all()
    assert rows[501][0] == "2024-01-01T08:20:00Z"
    assert scores[500] > 0.9 and np.nanmax(np.delete(scores, 500)) < 0.5


def test_a_named_configuration_and_parameter_overrides(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", _series(600, spike=500), header=["timestamp", "value"])
    out = tmp_path / "out.csv"
    legacy = runner.invoke(app, ["score", str(src), "-o", str(out), "-d", "ensemble"])
    assert legacy.exit_code == 0, legacy.output
    assert "(ensemble)" in legacy.output
    assert _scores(_read(out))[500] > 0.9
    quick = runner.invoke(app, ["score", str(src), "-o", str(out), "--set", "warmup=20"])
    assert quick.exit_code == 0, quick.output
    assert "20 without a score" in quick.output
    baseline = runner.invoke(app, ["score", str(src), "-o", str(out), "-d", "mad-zscore"])
    assert baseline.exit_code == 0, baseline.output
    assert np.nanargmax(_scores(_read(out))) == 500


def test_headerless_multi_metric_with_training(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)

    def rows(n: int, offset: int) -> list[list[object]]:
        return [
            [1_704_067_200 + 300 * (i + offset), *rng.normal(10.0, 1.0, 3).tolist()]
            for i in range(n)
        ]

    train = _write(tmp_path / "train.csv", rows(300, 0))
    test_rows = rows(50, 300)
    test_rows[10][2] = ""  # a missing sample
    test_rows[30][3] = 40.0  # a spike on the third metric
    src = _write(tmp_path / "test.csv", test_rows)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", str(src), "-o", str(out), "--train", str(train)])
    assert result.exit_code == 0, result.output
    table = _read(out)
    assert table[0][-1] == "drivers"
    scores = _scores(table)
    # Trained on 300 points, the detector is warm from the first test row.
    assert not np.isnan(scores).any()
    assert np.argmax(scores) == 30 and scores[30] >= 0.5
    assert table[31][4].split()[0] == "m3"  # the metric behind the score comes first
    untrained = tmp_path / "untrained.csv"
    assert runner.invoke(app, ["score", str(src), "-o", str(untrained)]).exit_code == 0
    assert np.isnan(_scores(_read(untrained))).all()  # 50 rows: still warming up


def test_metrics_constant_in_training_are_named_and_left_out(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    header = ["timestamp", "latency", "replicas"]

    def rows(n: int, offset: int, replicas: float) -> list[list[object]]:
        return [
            [1_704_067_200 + 300 * (i + offset), float(rng.normal(50.0, 2.0)), replicas]
            for i in range(n)
        ]

    train = _write(tmp_path / "train.csv", rows(400, 0, 3.0), header)
    src = _write(tmp_path / "test.csv", rows(200, 400, 3.0), header)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", str(src), "-o", str(out), "--train", str(train)])
    assert result.exit_code == 0, result.output
    assert "replicas: never scored (constant)" in result.output
    table = _read(out)
    assert {r[3] for r in table[1:]} == {"scored"}
    assert {r[4] for r in table[1:]} == {"latency"}  # replicas never drives a score


def test_same_input_gives_same_scores_and_prefix_is_causal(tmp_path: Path) -> None:
    data = _series(300, spike=200)
    whole = _write(tmp_path / "whole.csv", data)
    part = _write(tmp_path / "part.csv", data[:250])
    runner.invoke(app, ["score", str(whole), "-o", str(tmp_path / "a.csv")])
    runner.invoke(app, ["score", str(part), "-o", str(tmp_path / "b.csv")])
    assert _read(tmp_path / "b.csv") == _read(tmp_path / "a.csv")[:251]


def test_detectors_lists_the_named_configurations_default_first() -> None:
    result = runner.invoke(app, ["detectors"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("surprise (default)")
    for name in ("mad-zscore", "reference-zscore", "fused-likelihood", "ensemble"):
        assert any(line.startswith(name) for line in lines), name


def test_bad_input_exits_with_code_2(tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    missing = runner.invoke(app, ["score", str(tmp_path / "nope.csv"), "-o", str(out)])
    assert missing.exit_code == 2
    assert "file not found" in missing.output
    bad = _write(
        tmp_path / "bad.csv", [["2024-01-01T00:00:00Z", "1.0"], ["2024-01-01T00:05:00Z", "lots"]]
    )
    result = runner.invoke(app, ["score", str(bad), "-o", str(out)])
    assert result.exit_code == 2
    assert "row 2, column 2: 'lots' is not a number" in result.output
    assert not out.exists()
    good = _write(tmp_path / "good.csv", _series(10))
    unknown = runner.invoke(app, ["score", str(good), "-o", str(out), "-d", "magic"])
    assert unknown.exit_code == 2
    assert "unknown detector 'magic'" in unknown.output
    wrong = runner.invoke(app, ["score", str(good), "-o", str(out), "--set", "shrot=5"])
    assert wrong.exit_code == 2
    assert "'shrot': not a parameter of 'surprise'" in wrong.output
    refused = runner.invoke(app, ["score", str(good), "-o", str(out), "--set", "hold=-1"])
    assert refused.exit_code == 2 and "hold must be >= 0" in refused.output
    assert runner.invoke(app, ["score", str(good), "-o", str(out), "--set", "x"]).exit_code == 2
    assert not out.exists()
    stamp = _write(tmp_path / "stamp.csv", [["yesterday", "1.0"]])
    assert runner.invoke(app, ["score", str(stamp), "-o", str(out)]).exit_code == 2
