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


def test_scores_every_row_and_flags_the_spike(tmp_path: Path) -> None:
    src = _write(tmp_path / "in.csv", _series(600, spike=500), header=["timestamp", "value"])
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["score", str(src), "--output", str(out), "--detector", "holt_winters"]
    )
    assert result.exit_code == 0, result.output
    rows = _read(out)
    assert rows[0] == ["timestamp", "anomaly_score"]
    assert len(rows) == 601
    scores = np.array([float(r[1]) for r in rows[1:]])
    assert ((scores >= 0) & (scores <= 1)).all()
    assert rows[501][0] == "2024-01-01T08:20:00Z"
    assert scores[500] > 0.9 and np.delete(scores, 500).max() < 0.5


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
    src = _write(tmp_path / "test.csv", test_rows)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["score", str(src), "-o", str(out), "--train", str(train)])
    assert result.exit_code == 0, result.output
    scores = [float(r[1]) for r in _read(out)[1:]]
    assert len(scores) == 50
    # Trained on 300 points, the detectors are warm from the first test row.
    untrained = tmp_path / "untrained.csv"
    assert runner.invoke(app, ["score", str(src), "-o", str(untrained)]).exit_code == 0
    cold = [float(r[1]) for r in _read(untrained)[1:]]
    assert cold[:5] == [0.0] * 5 and scores != cold


def test_same_input_gives_same_scores_and_prefix_is_causal(tmp_path: Path) -> None:
    data = _series(300, spike=200)
    whole = _write(tmp_path / "whole.csv", data)
    part = _write(tmp_path / "part.csv", data[:150])
    runner.invoke(app, ["score", str(whole), "-o", str(tmp_path / "a.csv")])
    runner.invoke(app, ["score", str(part), "-o", str(tmp_path / "b.csv")])
    assert _read(tmp_path / "b.csv") == _read(tmp_path / "a.csv")[:151]


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
    unknown = runner.invoke(app, ["score", str(bad), "-o", str(out), "-d", "magic"])
    assert unknown.exit_code == 2
    stamp = _write(tmp_path / "stamp.csv", [["yesterday", "1.0"]])
    assert runner.invoke(app, ["score", str(stamp), "-o", str(out)]).exit_code == 2
