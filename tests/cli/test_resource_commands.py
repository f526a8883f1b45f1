"""The resource commands against a real server: tables by default, JSON and YAML on request,
bodies from --set and --file, path arguments, query options and downloads."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml
from factories import LiveServer, bearer
from typer.testing import CliRunner

from failcast.cli import app
from failcast.cli.resources import build_body

PASSWORD = "a long passphrase"


def run(url: str, key: str, *args: str) -> tuple[int, str]:
    env = {"FAILCAST_URL": url, "FAILCAST_API_KEY": key, "FAILCAST_CONFIG_FILE": "/nonexistent"}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def admin_key(live_server: LiveServer) -> str:
    with httpx.Client(base_url=live_server.url, timeout=60) as http:
        token = http.post(
            "/api/v1/register",
            json={"email": "cli@example.com", "password": PASSWORD, "org_name": "CLI"},
        ).json()["access_token"]
        key: str = http.post(
            "/api/v1/api-keys",
            json={"name": "cli", "scopes": ["ingest", "read", "write", "admin"]},
            headers=bearer(token),
        ).json()["key"]
        for name in ("checkout", "search"):
            http.post("/api/v1/services", json={"name": name}, headers=bearer(token))
    return key


def test_teams_from_create_to_delete(
    live_server: LiveServer, admin_key: str, tmp_path: Path
) -> None:
    url = live_server.url
    code, out = run(
        url, admin_key, "team", "create", "--set", "name=payments", "--set", "services=[checkout]",
        "-o", "json",
    )  # fmt: skip
    assert code == 0, out
    team = json.loads(out)
    assert team["services"] == ["checkout"]

    body = tmp_path / "team.yaml"
    body.write_text("description: money things\nservices: [checkout, search]\n")
    code, out = run(
        url, admin_key, "team", "update", str(team["id"]), "--file", str(body), "-o", "yaml"
    )
    assert code == 0, out
    assert yaml.safe_load(out)["services"] == ["checkout", "search"]

    code, out = run(url, admin_key, "team", "list")
    assert code == 0, out
    assert "payments" in out and "checkout, search" in out  # a table

    code, out = run(url, admin_key, "service", "list", "-o", "json")
    assert {s["name"]: s["team"] for s in json.loads(out)} == {
        "checkout": "payments",
        "search": "payments",
    }
    code, out = run(url, admin_key, "team", "add-member", str(team["id"]), "999999")
    assert code == 1 and "404" in out
    code, out = run(
        url,
        admin_key,
        "team",
        "set-settings",
        "--set",
        "restrict_members_to_teams=true",
        "-o",
        "json",
    )
    assert json.loads(out) == {"restrict_members_to_teams": True}
    code, out = run(url, admin_key, "team", "delete", str(team["id"]))
    assert code == 0 and "done" in out
    code, out = run(url, admin_key, "team", "list", "-o", "json")
    assert json.loads(out) == []


def test_rules_silences_and_query_options(live_server: LiveServer, admin_key: str) -> None:
    url = live_server.url
    code, out = run(
        url, admin_key, "rule", "create", "--set", "kind=threshold", "--set", "name=slow",
        "--set", "severity=warning", "--set", "service=checkout", "--set", "metric=latency_ms",
        "--set", "op=>", "--set", "value=500", "--set", "window=5m", "-o", "json",
    )  # fmt: skip
    assert code == 0, out
    rule = json.loads(out)
    code, out = run(url, admin_key, "rule", "show", str(rule["id"]), "-o", "yaml")
    assert yaml.safe_load(out)["name"] == "slow"
    code, out = run(url, admin_key, "alert", "list", "--state", "firing", "--state", "resolved")
    assert code == 0 and "no " in out  # an empty table says so
    code, out = run(url, admin_key, "rule", "delete", str(rule["id"]))
    assert code == 0, out
    code, out = run(url, admin_key, "rule", "show", str(rule["id"]))
    assert code == 1 and "404" in out


def test_reports_download_to_a_file(
    live_server: LiveServer, admin_key: str, tmp_path: Path
) -> None:
    out = tmp_path / "report.pdf"
    code, text = run(live_server.url, admin_key, "report", "now", "--out", str(out))
    assert code == 0, text
    assert out.read_bytes().startswith(b"%PDF")
    code, text = run(live_server.url, admin_key, "report", "pdf", "999999", "--out", str(out))
    assert code == 1 and "404" in text


def test_bodies_from_files_and_settings(tmp_path: Path) -> None:
    base = tmp_path / "body.json"
    base.write_text(json.dumps({"name": "x", "config": {"url": "https://a.example"}}))
    settings = ["config.url=https://b.example", "enabled=false", "tags=[a, b]", "n=5", "op=>"]
    body = build_body(base, settings)
    assert body == {
        "name": "x",
        "config": {"url": "https://b.example"},
        "enabled": False,
        "tags": ["a", "b"],
        "n": 5,
        "op": ">",
    }
