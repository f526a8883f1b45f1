from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from factories import LiveServer, bearer
from typer.testing import CliRunner

from failcast.chaos import Topology, generate_history
from failcast.cli import app, simulate
from failcast.cli._client import ApiClient

START = 1_750_000_000  # fixed, so the files can be compared with the library's own output


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


def test_out_writes_samples_incidents_and_topology(tmp_path: Path) -> None:
    code, out = run(
        "simulate", "--days", "2", "--services", "12", "--step", "10m", "--seed", "7",
        "--start", str(START), "--out", str(tmp_path), "--difficulty", "plain",
    )  # fmt: skip
    assert code == 0, out
    samples = pd.read_csv(tmp_path / "samples.csv")
    expected, incidents, topology = generate_history(2, 12, 600, seed=7, start=START)
    assert list(samples.columns) == ["ts", "service", "metric", "value"]
    assert len(samples) == len(expected) == 288 * 94
    assert samples["ts"].min() == START and samples["ts"].max() == START + 2 * 86400 - 600
    assert (samples["service"] == expected["service"].astype(str)).all()
    assert np.allclose(samples["value"], expected["value"], rtol=1e-5)
    assert Topology.from_dict(json.loads((tmp_path / "topology.json").read_text())) == topology
    written = pd.read_csv(tmp_path / "incidents.csv")
    assert list(written["service"]) == [i.service for i in incidents]
    assert set(written.columns) >= {"service", "type", "start", "end", "root_cause_service"}


@pytest.mark.parametrize(
    "args",
    [
        ["--days", "1"],
        ["--days", "1", "--out", "x", "--ingest"],
        ["--days", "1", "--out", "x", "--step", "1.5s"],
        ["--days", "1", "--out", "x", "--speed", "10"],
        ["--days", "1", "--out", "x", "--format", "xls"],
    ],
)
def test_bad_options_are_refused(args: list[str]) -> None:
    code, _ = run("simulate", *args)
    assert code == 2


class Recorder:
    """A fake server: records bodies, answers 404 for incidents as an older server would."""

    def __init__(self) -> None:
        self.metrics: list[dict[str, Any]] = []
        self.incident_calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer fc_test"
        if request.url.path == "/api/v1/metrics":
            self.metrics.append(json.loads(request.content))
            return httpx.Response(200, json={"accepted": len(self.metrics[-1]["samples"])})
        self.incident_calls += 1
        return httpx.Response(404, json={"error": "NotFound"})


def test_ingest_batches_samples_and_survives_a_missing_incidents_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = Recorder()

    class FakeApi(ApiClient):
        def __init__(self, url: str | None = None, api_key: str | None = None) -> None:
            super().__init__(url, api_key)
            self.http = httpx.Client(
                base_url=self.url,
                headers={"Authorization": f"Bearer {api_key}"},
                transport=httpx.MockTransport(recorder),
            )

    monkeypatch.setattr(simulate, "ApiClient", FakeApi)
    code, out = run(
        "simulate", "--days", "3", "--step", "1h", "--seed", "11", "--start", str(START),
        "--ingest", "--url", "http://failcast.test", "--api-key", "fc_test",
        "--difficulty", "plain",
    )  # fmt: skip
    assert code == 0, out
    sizes = [len(body["samples"]) for body in recorder.metrics]
    assert sizes == [5000, 400]  # 72 hourly steps of the reference fleet's 75 series
    first = recorder.metrics[0]["samples"][0]
    assert first == {
        "service": "database",
        "metric": "cpu_pct",
        "labels": {},
        "ts": START,
        "value": pytest.approx(first["value"]),
    }
    assert recorder.incident_calls == 1
    assert "warning" in out and "incidents" in out


def test_ingest_into_a_running_server(live_server: LiveServer) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        registered = http.post(
            "/api/v1/register",
            json={"email": "sim@example.com", "password": "a long passphrase", "org_name": "Sim"},
        ).json()
        key = http.post(
            "/api/v1/api-keys",
            json={"name": "sim", "scopes": ["ingest", "read"]},
            headers=bearer(registered["access_token"]),
        ).json()["key"]
        code, out = run(
            "simulate", "--days", "0.25", "--services", "4", "--step", "5m",
            "--ingest", "--url", live_server.url, "--api-key", key, "--difficulty", "plain",
        )  # fmt: skip
        assert code == 0, out
        stats = http.get("/api/v1/stats", headers=bearer(key)).json()
        assert stats["samples"] == 72 * 37  # 72 steps of the 37 series of four services


def test_hard_history_leaves_missing_samples_out_of_the_files(tmp_path: Path) -> None:
    code, out = run(
        "simulate", "--days", "4", "--services", "4", "--step", "5m", "--seed", "3",
        "--start", str(START), "--out", str(tmp_path),
    )  # fmt: skip
    assert code == 0, out
    samples = pd.read_csv(tmp_path / "samples.csv")
    full = 4 * 288 * 37
    assert 0.9 * full < len(samples) < full  # some gaps, most samples there
    assert samples["value"].notna().all()
