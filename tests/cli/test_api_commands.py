from __future__ import annotations

import csv
import json
import stat
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from factories import LiveServer, bearer
from typer.testing import CliRunner

from failcast.cli import app

PASSWORD = "a long passphrase"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "cfg" / "config.toml"


def run(config: Path, *args: str) -> tuple[int, str]:
    env = {"FAILCAST_CONFIG_FILE": str(config), "FAILCAST_URL": "", "FAILCAST_API_KEY": ""}
    result = CliRunner().invoke(app, list(args), env={k: v for k, v in env.items() if v})
    return result.exit_code, result.output


def setup_account(url: str, email: str = "cli@example.com") -> str:
    """Register, store two series of samples, and return an ingest+read API key."""
    with httpx.Client(base_url=url, timeout=60) as http:
        token = http.post(
            "/api/v1/register", json={"email": email, "password": PASSWORD, "org_name": "CLI"}
        ).json()["access_token"]
        key: str = http.post(
            "/api/v1/api-keys",
            json={"name": "cli", "scopes": ["ingest", "read"]},
            headers=bearer(token),
        ).json()["key"]
        start = int(time.time()) // 60 * 60 - 1800
        samples = [
            {
                "service": "api",
                "metric": "cpu_pct",
                "labels": {"host": h},
                "ts": start + i * 60,
                "value": float(i + (10 if h == "b" else 0)),
            }
            for h in ("a", "b")
            for i in range(5)
        ]
        assert http.post(
            "/api/v1/metrics", json={"samples": samples}, headers=bearer(key)
        ).is_success
        return key


def test_login_with_an_api_key_then_query_and_export(
    live_server: LiveServer, config: Path, tmp_path: Path
) -> None:
    key = setup_account(live_server.url)
    code, out = run(config, "login", "--url", live_server.url, "--api-key", "fc_bad_key")
    assert code == 1 and "refused the API key" in out
    code, out = run(config, "login", "--url", live_server.url, "--api-key", key)
    assert code == 0, out
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert f'api_key = "{key}"' in config.read_text()

    code, out = run(config, "config", "show", "--json")
    shown = json.loads(out)
    assert shown["url"] == live_server.url and shown["api_key"] == key[:10] + "…"

    code, out = run(config, "services", "--json")
    assert code == 0 and [s["name"] for s in json.loads(out)] == ["api"]
    code, out = run(config, "services")
    assert "api" in out and "microservice" in out

    code, out = run(
        config, "query", "cpu_pct", "--service", "api", "--start", str(time.time() - 7200), "--json"
    )
    assert code == 0, out
    series = json.loads(out)["series"]
    assert [(s["labels"], [p[1] for p in s["points"]]) for s in series] == [
        ({"host": "a"}, [0.0, 1.0, 2.0, 3.0, 4.0]),
        ({"host": "b"}, [10.0, 11.0, 12.0, 13.0, 14.0]),
    ]
    code, out = run(
        config, "query", "cpu_pct", "--label", "host=b", "--start", str(time.time() - 7200)
    )
    assert code == 0 and "host=b" in out and "host=a" not in out and "14" in out

    target = tmp_path / "cpu.csv"
    code, out = run(
        config,
        "export",
        "cpu_pct",
        "-o",
        str(target),
        "--start",
        str(time.time() - 7200),
        "--window",
        "10m",
    )
    assert code == 0 and "wrote 10 points" in out
    rows = list(csv.DictReader(target.open()))
    assert len(rows) == 10
    assert sorted(float(r["value"]) for r in rows if r["labels"] == "host=b") == [
        10,
        11,
        12,
        13,
        14,
    ]
    assert {r["service"] for r in rows} == {"api"} and rows[0]["ts"].endswith("Z")

    as_json = tmp_path / "cpu.json"
    code, out = run(
        config,
        "export",
        "cpu_pct",
        "-o",
        str(as_json),
        "-f",
        "json",
        "--label",
        "host=a",
        "--start",
        str(time.time() - 7200),
        "--step",
        "10m",
        "--agg",
        "max",
    )
    assert code == 0, out
    points = json.loads(as_json.read_text())
    assert sum(p["value"] for p in points) > 0 and all(p["labels"] == {"host": "a"} for p in points)
    assert max(p["value"] for p in points) == 4.0


def test_people_manage_orgs_and_api_keys(live_server: LiveServer, config: Path) -> None:
    setup_account(live_server.url, "owner@example.com")
    code, out = run(config, "org", "list")
    assert code == 1 and "not signed in" in out
    result = CliRunner().invoke(
        app,
        ["login", "--url", live_server.url, "--email", "owner@example.com"],
        input=PASSWORD + "\n",
        env={"FAILCAST_CONFIG_FILE": str(config)},
    )
    assert result.exit_code == 0, result.output
    assert "token = " in config.read_text()

    code, out = run(config, "org", "list", "--json")
    [org] = json.loads(out)
    assert org["name"] == "CLI" and org["role"] == "owner"
    code, out = run(config, "org", "create", "Second", "--json")
    second = json.loads(out)
    assert second["name"] == "Second"
    code, out = run(config, "org", "switch", str(second["id"]))
    assert code == 0, out
    code, out = run(config, "org", "current", "--json")
    assert json.loads(out)["id"] == second["id"]

    code, out = run(config, "apikey", "create", "deploy", "--scope", "ingest")
    assert code == 0 and "key (shown once): fc_" in out
    code, out = run(config, "apikey", "list", "--json")
    [key] = json.loads(out)
    assert key["name"] == "deploy" and key["scopes"] == ["ingest"] and key["revoked_at"] is None
    code, out = run(config, "apikey", "revoke", str(key["id"]))
    assert code == 0 and "revoked API key" in out
    code, out = run(config, "apikey", "list", "--json")
    assert json.loads(out)[0]["revoked_at"] is not None


@pytest.fixture
def bare_server() -> Iterator[str]:
    """A server without alerting or prediction routes, answering like FastAPI does."""

    class NotFound(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            body = b'{"error": "NotFound", "detail": "Not Found"}'
            self.send_response(404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_missing_features_are_named_clearly(bare_server: str, config: Path) -> None:
    code, out = run(config, "alerts", "--url", bare_server, "--api-key", "fc_a_b")
    assert code == 1
    assert "alerting is not available (404 from /api/v1/alerts" in out
    code, out = run(config, "predict", "checkout", "--url", bare_server, "--api-key", "fc_a_b")
    assert code == 1
    assert "failure prediction is not available" in out


def test_shell_completion_is_offered(config: Path) -> None:
    code, out = run(config, "--help")
    assert code == 0 and "--install-completion" in out


def test_a_prediction_prints_as_a_table_with_percentages_and_sentences(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from failcast.cli.data_commands import show_prediction

    factor = {"feature": "latency_p99_ms__max_72", "metric": "latency_p99_ms",
              "value": 412.34567, "contribution": 0.61, "statement": "raw"}  # fmt: skip
    body = {
        "horizons": [
            {"hours": 1, "probability": 0.0123456789, "threshold": 0.3, "alarm": False,
             "factors": []},
            {"hours": 24, "probability": 0.31234567891, "threshold": 0.25, "alarm": True,
             "factors": [factor]},
        ],
        "risk_level": "high", "incident_type": "latency_spike", "confidence": 0.8765,
        "model_version": 3,
    }  # fmt: skip
    show_prediction(body, "checkout")
    out = capsys.readouterr().out
    assert "31.2%" in out and "1.23%" in out and "yes" in out
    assert "0.31234567891" not in out
    assert "if it fails, most likely latency spike (87.6% sure)" in out
    assert "Latency p99 peaking at 412 ms: raises the risk." in out
