"""`failcast rca` on the files `failcast simulate` writes, with an injected fault."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from failcast.chaos import Fault, FaultKind, history_matrix
from failcast.chaos.naming import renamed
from failcast.cli import app
from failcast.cli.simulate import write_history

runner = CliRunner()
START = 1_704_067_200
HIT = START + 6 * 3600  # six hours of normal operation first


@pytest.fixture(scope="module", params=["builtin", "prometheus"])
def simulated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Seven hours of a ten-service fleet in which the database is killed at HIT; written by
    the same writer `failcast simulate --out` uses, under either naming style."""
    fault = Fault(FaultKind.service_kill, "database", HIT, duration_s=1800)
    result = history_matrix(
        7 / 24, 10, 60, seed=3, start=START, faults=[fault], organic_rate_per_day=0.0
    )
    out = tmp_path_factory.mktemp(f"sim-{request.param}")
    matrix = renamed(result.matrix, str(request.param))
    write_history(out, matrix, result.incidents, result.topology.to_dict())
    return out


def test_names_the_killed_database_behind_the_gateway(simulated: Path) -> None:
    result = runner.invoke(
        app,
        [
            "rca", "--samples", str(simulated / "samples.csv"),
            "--topology", str(simulated / "topology.json"),
            "--symptom", "api-gateway", "--at", str(HIT + 60), "--output", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["verdict"] == "root_cause"
    top = answer["candidates"][0]
    assert top["service"] == "database"
    assert set(top) >= {"service", "metric", "score", "evidence"}
    assert top["metric"] and top["metric"] in top["evidence"]
    # The gateway's own anomaly is put down to its dependencies.
    gateway = next(c for c in answer["candidates"] if c["service"] == "api-gateway")
    assert gateway["explained_by"] is not None and gateway["score"] < top["score"]


def test_prints_a_table_and_reads_an_edge_list(simulated: Path, tmp_path: Path) -> None:
    topology = json.loads((simulated / "topology.json").read_text())
    edges = tmp_path / "edges.csv"
    with edges.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["caller", "callee"])
        for service in topology["services"]:
            writer.writerows([service["name"], d] for d in service["dependencies"])
    result = runner.invoke(
        app,
        [
            "rca", "--samples", str(simulated / "samples.csv"), "--topology", str(edges),
            "--symptom", "checkout", "--at", "2024-01-01T06:01:00Z",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "root cause" in result.stdout
    first_row = next(line for line in result.stdout.splitlines() if "│  1 │" in line)
    assert "database" in first_row


def test_learns_from_a_separate_normal_period(simulated: Path, tmp_path: Path) -> None:
    rows = list(csv.reader((simulated / "samples.csv").open()))
    header, body = rows[0], rows[1:]
    ts = header.index("ts")
    normal, incident = tmp_path / "normal.csv", tmp_path / "incident.csv"
    for path, keep in ((normal, lambda t: t < HIT - 3600), (incident, lambda t: t >= HIT - 600)):
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(r for r in body if keep(int(r[ts])))
    result = runner.invoke(
        app,
        [
            "rca", "--samples", str(incident), "--normal", str(normal),
            "--topology", str(simulated / "topology.json"),
            "--symptom", "user", "--at", str(HIT), "-o", "json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["candidates"][0]["service"] == "database"
    assert answer["normal_ms"][1] < (HIT - 3600) * 1000


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["rca", *args])
    return result.exit_code, result.output


def test_bad_input_exits_with_code_2_and_says_where(simulated: Path, tmp_path: Path) -> None:
    samples = str(simulated / "samples.csv")
    topology = str(simulated / "topology.json")
    common = ["--topology", topology, "--at", str(HIT)]

    code, out = _run("--samples", str(tmp_path / "nope.csv"), "--symptom", "user", *common)
    assert code == 2 and "nope.csv: file not found" in out

    bad = tmp_path / "bad.csv"
    bad.write_text("ts,service,metric,value\n1704067200,api,cpu,1\n1704067260,api,cpu,lots\n")
    code, out = _run("--samples", str(bad), "--symptom", "api", *common)
    assert code == 2 and "bad.csv: row 3, column 4 (value): 'lots' is not a number" in out

    stamp = tmp_path / "stamp.csv"
    stamp.write_text("service,metric,ts,value\napi,cpu,yesterday,1\n")
    code, out = _run("--samples", str(stamp), "--symptom", "api", *common)
    assert code == 2 and "stamp.csv: row 2, column 3 (ts): 'yesterday' is not a timestamp" in out

    header = tmp_path / "header.csv"
    header.write_text("time,service,value\n1,api,2\n")
    code, out = _run("--samples", str(header), "--symptom", "api", *common)
    assert code == 2 and "missing ts, metric" in out

    labels = tmp_path / "labels.csv"
    labels.write_text("ts,service,metric,value,labels\n1704067200,api,cpu,1,oops\n")
    code, out = _run("--samples", str(labels), "--symptom", "api", *common)
    assert code == 2 and "column 5 (labels)" in out

    broken = tmp_path / "topology.json"
    broken.write_text('{"services": [{"name": "a", "dependencies": [1]}]}')
    code, out = _run("--samples", samples, "--symptom", "user", "--topology", str(broken),
                     "--at", str(HIT))  # fmt: skip
    assert code == 2 and "services[0].dependencies: 1 is not a service name" in out

    code, out = _run("--samples", samples, "--symptom", "nowhere", *common)
    assert code == 2 and "'nowhere' is neither in the samples nor in the topology" in out
    code, out = _run("--samples", samples, "--symptom", "user:nope", *common)
    assert code == 2 and "'nope' has no samples for user" in out
    code, out = _run("--samples", samples, "--symptom", "user", "--topology", topology,
                     "--at", "soon")  # fmt: skip
    assert code == 2 and "--at: 'soon' is not a timestamp" in out
    code, out = _run("--samples", samples, "--symptom", "user", *common, "--after", "ten")
    assert code == 2 and "--after: not a duration" in out
    code, out = _run("--samples", samples, "--symptom", "user", "--topology", topology,
                     "--at", str(HIT + 86400))  # fmt: skip
    assert code == 2 and "no samples fall in the window" in out
