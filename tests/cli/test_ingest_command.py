from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from factories import LiveServer, bearer
from typer.testing import CliRunner

from failcast.cli import app


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_version() -> None:
    code, out = run("version")
    assert code == 0
    assert out.strip() == "0.1.0"


def test_ingest_a_csv_into_a_running_server(live_server: LiveServer, tmp_path: Path) -> None:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        registered = http.post(
            "/api/v1/register",
            json={"email": "cli@example.com", "password": "a long passphrase", "org_name": "CLI"},
        ).json()
        key = http.post(
            "/api/v1/api-keys",
            json={"name": "cli", "scopes": ["ingest", "read"]},
            headers=bearer(registered["access_token"]),
        ).json()["key"]

        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
        lines = ["timestamp,cpu_pct,mem_pct"]
        for i in range(7000):
            ts = (start + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S")
            mem = "" if i == 5 else str(50 + i % 10)
            lines.append(f"{ts},{i % 100},{mem}")
        path = tmp_path / "host.csv"
        path.write_text("\n".join(lines) + "\n")

        code, out = run(
            "ingest", str(path), "--service", "db-1", "--url", live_server.url, "--api-key", key
        )
        assert code == 0, out
        assert "stored 13999 samples for db-1" in out
        stats = http.get("/api/v1/stats", headers=bearer(key)).json()
        assert stats["samples"] == 13999
        body = http.get(
            "/api/v1/metrics",
            params={
                "metric": "cpu_pct",
                "service": "db-1",
                "start": start.isoformat(),
                "step": "1h",
                "agg": "count",
            },
            headers=bearer(key),
        ).json()
        assert body["series"][0]["points"][0][1] == 3600


def test_ingest_reports_bad_rows_and_missing_keys(live_server: LiveServer, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("1700000000,1\n1700000060,oops\n")
    code, out = run(
        "ingest", str(bad), "--service", "x", "--url", live_server.url, "--api-key", "fc_a_b"
    )
    assert code == 2
    assert "line 2: 'oops'" in out
    good = tmp_path / "good.csv"
    good.write_text(f"{datetime.now(UTC).timestamp()},1\n")
    code, out = run(
        "ingest", str(good), "--service", "x", "--url", live_server.url, "--api-key", "fc_a_b"
    )
    assert code == 1
    assert "401" in out
    empty_home = {"HOME": str(tmp_path), "FAILCAST_API_KEY": ""}
    code, out = run("ingest", str(good), "--service", "x", "--url", live_server.url, env=empty_home)
    assert code == 1
    assert "no API key" in out


def _key(base: str) -> str:
    with httpx.Client(base_url=base, timeout=60) as http:
        registered = http.post(
            "/api/v1/register",
            json={"email": "csv@example.com", "password": "a long passphrase", "org_name": "CSV"},
        ).json()
        key: str = http.post(
            "/api/v1/api-keys",
            json={"name": "cli", "scopes": ["ingest", "read"]},
            headers=bearer(registered["access_token"]),
        ).json()["key"]
    return key


def test_ingest_refuses_extra_cells_and_names_the_csv_line_of_a_refused_sample(
    live_server: LiveServer, tmp_path: Path
) -> None:
    key = _key(live_server.url)
    now = datetime.now(UTC).timestamp()
    extra = tmp_path / "extra.csv"
    extra.write_text(f"timestamp,cpu_pct\n{now},1\n{now},2,3\n")
    code, out = run("ingest", str(extra), "-s", "x", "--url", live_server.url, "--api-key", key)
    assert code == 2
    assert "line 3: 3 cells, but the file has 2 columns" in out
    old = tmp_path / "old.csv"
    old.write_text(f"timestamp,cpu_pct\n{now},1\n{now - 200 * 86400},2\n")
    code, out = run("ingest", str(old), "-s", "x", "--url", live_server.url, "--api-key", key)
    assert code == 1
    assert "line 3: ts:" in out


def test_ingest_reads_the_long_format_simulate_writes(
    live_server: LiveServer, tmp_path: Path
) -> None:
    key = _key(live_server.url)
    now = int(datetime.now(UTC).timestamp())
    long = tmp_path / "samples.csv"
    long.write_text(
        "ts,service,metric,value\n"
        f"{now - 120},api,latency_p99_ms,120.5\n"
        f"{now - 120},db,cpu_pct,40\n"
        f"{now - 60},api,latency_p99_ms,130\n"
    )
    code, out = run("ingest", str(long), "--url", live_server.url, "--api-key", key)
    assert code == 0, out
    assert "stored 3 samples for api, db" in out
    code, out = run("ingest", str(long), "-s", "db", "--url", live_server.url, "--api-key", key)
    assert code == 0, out
    assert "stored 1 samples for db" in out
