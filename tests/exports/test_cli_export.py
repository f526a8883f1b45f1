"""`failcast export KIND` streams the server's export into a file."""

from __future__ import annotations

import csv
import time
from pathlib import Path

import httpx
from factories import LiveServer, bearer
from openpyxl import load_workbook
from typer.testing import CliRunner

from failcast.cli import app


def run(config: Path, *args: str) -> tuple[int, str]:
    env = {"FAILCAST_CONFIG_FILE": str(config)}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_export_kinds_and_excel_through_the_cli(live_server: LiveServer, tmp_path: Path) -> None:
    now = int(time.time())
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        token = http.post(
            "/api/v1/register",
            json={"email": "x@example.com", "password": "a long passphrase", "org_name": "X"},
        ).json()["access_token"]
        key = http.post(
            "/api/v1/api-keys", json={"name": "cli", "scopes": ["ingest", "read", "write"]},
            headers=bearer(token),
        ).json()["key"]  # fmt: skip
        samples = [
            {"service": "api", "metric": "cpu_pct", "ts": now - 600 + 60 * i, "value": i / 4}
            for i in range(6)
        ]
        assert http.post(
            "/api/v1/metrics", json={"samples": samples}, headers=bearer(key)
        ).is_success
        incident = {"service": "api", "type": "latency_spike", "start": now - 300, "title": "slow"}
        created = http.post(
            "/api/v1/incidents", json={"incidents": [incident]}, headers=bearer(key)
        )
        assert created.is_success, created.text
    config = tmp_path / "config.toml"
    assert run(config, "login", "--url", live_server.url, "--api-key", key)[0] == 0

    target = tmp_path / "incidents.csv"
    code, out = run(config, "export", "incidents", "--output", str(target))
    assert code == 0, out
    [row] = list(csv.DictReader(target.open()))
    assert (row["service"], row["type"], row["title"]) == ("api", "latency_spike", "slow")

    book = tmp_path / "cpu.xlsx"
    code, out = run(
        config, "export", "cpu_pct", "-f", "xlsx", "-o", str(book), "--start", str(now - 3600)
    )
    assert code == 0, out
    sheet = load_workbook(book, read_only=True)["export"]
    header, *rows = list(sheet.iter_rows(values_only=True))
    assert header == ("service", "metric", "labels", "ts (UTC)", "value")
    assert [r[4] for r in rows] == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]

    code, out = run(config, "export", "alerts", "-f", "jsonl", "-o", str(tmp_path / "a.jsonl"))
    assert code == 0 and (tmp_path / "a.jsonl").read_bytes() == b""
    code, out = run(config, "export", "metrics", "-o", str(tmp_path / "m.csv"), "--start", "x")
    assert code == 1 and "422" in out
