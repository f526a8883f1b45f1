"""The simulated history under Prometheus-style names, units and counters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from failcast.chaos import history_matrix
from failcast.chaos.naming import PROMETHEUS, renamed
from failcast.cli import app

START = 1_750_000_000


def test_same_history_other_names_units_and_counters() -> None:
    matrix = history_matrix(0.5, 10, 60, seed=4, start=START).matrix
    prom = renamed(matrix, "prometheus")
    assert renamed(matrix, "builtin") is matrix
    assert len(prom.series) == len(matrix.series)
    names = {m for _, m in prom.series}
    assert "http_server_request_duration_seconds_p99" in names and "latency_p99_ms" not in names
    p99 = prom.get("database", "http_server_request_duration_seconds_p99")
    assert np.allclose(p99 * 1000, matrix.get("database", "latency_p99_ms"))
    # Requests become a cumulative counter whose increase per second is the request rate.
    requests = prom.get("database", "http_server_requests_total")
    assert np.all(np.diff(requests) >= 0)
    rate = np.diff(requests) / np.diff(prom.ts)
    assert np.allclose(rate, matrix.get("database", "throughput_rps")[1:])
    assert set(PROMETHEUS) >= {m for _, m in matrix.series}
    with pytest.raises(ValueError, match="unknown naming style"):
        renamed(matrix, "statsd")


def test_simulate_writes_prometheus_names(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app,
        ["simulate", "--days", "0.1", "--step", "5m", "--start", str(START),
         "--names", "prometheus", "--out", str(tmp_path)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    metrics = set(pd.read_csv(tmp_path / "samples.csv")["metric"])
    assert "process_cpu_seconds_total" in metrics and "cpu_pct" not in metrics
    bad = runner.invoke(app, ["simulate", "--names", "statsd", "--out", str(tmp_path)])
    assert bad.exit_code == 2 and "--names must be one of builtin, prometheus" in bad.output
